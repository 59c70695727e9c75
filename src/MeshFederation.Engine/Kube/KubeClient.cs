using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Kube;

/// <summary>Timeouts and retries of a <see cref="KubeClient"/>.</summary>
public sealed class KubeClientOptions
{
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Attempts per idempotent request (429, 5xx, connection resets and timeouts are retried).</summary>
    public int MaxAttempts { get; init; } = 8;

    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest Retry-After honoured; a server asking for longer is waited for this long.</summary>
    public TimeSpan RetryAfterCap { get; init; } = TimeSpan.FromSeconds(60);

    public string FieldManager { get; init; } = "meshfederation";

    public string UserAgent { get; init; } = "meshfederation/" + typeof(KubeClient).Assembly.GetName().Version?.ToString(3);
}

/// <summary>One resource type the API server serves.</summary>
public sealed record ApiResource(string Group, string Version, string Name, string Kind, bool Namespaced, IReadOnlyList<string> ShortNames)
{
    public string ApiVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string BasePath => Group.Length == 0 ? $"/api/{Version}" : $"/apis/{Group}/{Version}";

    public string PathFor(string? ns, string? name)
    {
        var sb = new StringBuilder(BasePath);
        if (Namespaced && !string.IsNullOrEmpty(ns)) sb.Append("/namespaces/").Append(Uri.EscapeDataString(ns));
        sb.Append('/').Append(Name);
        if (!string.IsNullOrEmpty(name)) sb.Append('/').Append(Uri.EscapeDataString(name));
        return sb.ToString();
    }
}

/// <summary>
/// A small Kubernetes client (KubernetesClient is not available here): discovery, get, list with label selectors,
/// server-side apply, delete, status. Idempotent calls are retried with jittered backoff on 429 (honouring Retry-After),
/// 5xx, connection resets and timeouts; every call has a timeout and honours cancellation. Tokens and keys are never
/// written to the log or to exception messages.
/// </summary>
public sealed class KubeClient : IDisposable
{
    private readonly KubeContext _context;
    private readonly KubeClientOptions _options;
    private readonly IMeshLog _log;
    private readonly ExecCredentialProvider? _exec;
    private readonly Dictionary<string, Task<IReadOnlyList<ApiResource>?>> _discovery = new(StringComparer.Ordinal);
    private readonly object _discoveryGate = new();
    private long _requests;

    public KubeClient(KubeContext context, KubeClientOptions? options = null, IMeshLog? log = null)
    {
        _context = context;
        _options = options ?? new KubeClientOptions();
        _log = log ?? NullMeshLog.Instance;
        if (context.Exec is not null) _exec = new ExecCredentialProvider(context.Exec, context);

    }

    private HttpClient? _http;
    private readonly SemaphoreSlim _httpGate = new(1, 1);

    /// <summary>Creates the HTTP client on first use, after an exec plugin (which may supply the client certificate) has run.</summary>
    private async Task<HttpClient> HttpAsync(CancellationToken cancellationToken)
    {
        if (_http is not null) return _http;
        await _httpGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_http is not null) return _http;
            if (SystemTrustStore.PinnedToKubeconfigCas && ((_context.CertificateAuthorityPem is null && !_context.InsecureSkipTlsVerify) || _context.ProxyUrl is not null))
                throw new InvalidOperationException($"context '{_context.Name}' needs the machine's trust store, which this process does not load (SystemTrustStore.Prepare was given other contexts)");
            var handler = new SocketsHttpHandler
            {
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                ConnectTimeout = TimeSpan.FromSeconds(10),
                EnableMultipleHttp2Connections = true,
                UseProxy = _context.ProxyUrl is not null,
                Proxy = _context.ProxyUrl is null ? null : new WebProxy(_context.ProxyUrl),
                SslOptions = new SslClientAuthenticationOptions { RemoteCertificateValidationCallback = ValidateServer },
            };
            if (_context.CertificateAuthorityPem is not null && !_context.InsecureSkipTlsVerify)
            {
                // The TLS layer builds the server's chain with the kubeconfig's CA as the only trust (no revocation
                // check, serverAuth usage as kubectl requires); ValidateServer takes that chain's verdict and checks the
                // name. The policy is complete here, so the TLS layer never changes it (handshakes may run at once).
                var policy = new X509ChainPolicy { TrustMode = X509ChainTrustMode.CustomRootTrust, RevocationMode = X509RevocationMode.NoCheck };
                var roots = new X509Certificate2Collection();
                roots.ImportFromPem(_context.CertificateAuthorityPem);
                policy.CustomTrustStore.AddRange(roots);
                policy.ApplicationPolicy.Add(new System.Security.Cryptography.Oid("1.3.6.1.5.5.7.3.1")); // id-kp-serverAuth
                handler.SslOptions.CertificateChainPolicy = policy;
            }
            var clientCert = await ClientCertificateAsync(_context, cancellationToken).ConfigureAwait(false);
            if (clientCert is not null) handler.SslOptions.ClientCertificates = new X509CertificateCollection { clientCert };
            var http = new HttpClient(handler) { BaseAddress = _context.Server, Timeout = Timeout.InfiniteTimeSpan };
            http.DefaultRequestHeaders.UserAgent.ParseAdd(_options.UserAgent);
            _http = http;
            return http;
        }
        finally
        {
            _httpGate.Release();
        }
    }

    public KubeContext Context => _context;

    /// <summary>How many HTTP requests were sent (attempts included).</summary>
    public long RequestCount => Interlocked.Read(ref _requests);

    private async Task<X509Certificate2?> ClientCertificateAsync(KubeContext c, CancellationToken cancellationToken)
    {
        var certPem = c.ClientCertificatePem;
        var keyPem = c.ClientKeyPem;
        if (certPem is null && _exec is not null)
        {
            var cred = await _exec.GetAsync(refresh: false, cancellationToken).ConfigureAwait(false);
            certPem = cred.ClientCertificatePem;
            keyPem = cred.ClientKeyPem;
        }
        if (certPem is null || keyPem is null) return null;
        try
        {
            using var ephemeral = X509Certificate2.CreateFromPem(certPem, keyPem);
            // A persisted copy: TLS client authentication needs a key the platform can use on every OS.
            return new X509Certificate2(ephemeral.Export(X509ContentType.Pkcs12));
        }
        catch (System.Security.Cryptography.CryptographicException ex)
        {
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, $"kubeconfig context '{c.Name}' client certificate", "(not shown)",
                $"could not be loaded ({ex.Message})", "check that client-certificate and client-key are a matching PEM pair"));
        }
    }

    private bool ValidateServer(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_context.InsecureSkipTlsVerify) return true;
        if (certificate is null) return false;
        using var cert = new X509Certificate2(certificate);
        var host = _context.TlsServerName ?? _context.Server.Host;
        if (_context.CertificateAuthorityPem is null)
            return errors == SslPolicyErrors.None || (errors == SslPolicyErrors.RemoteCertificateNameMismatch && _context.TlsServerName is not null && cert.MatchesHostname(host));
        // The chain was built by the TLS layer with the kubeconfig's CA as the only trust (CertificateChainPolicy in
        // HttpAsync): a chain error means the server is not signed by it. One chain build per handshake, not two.
        if ((errors & (SslPolicyErrors.RemoteCertificateNotAvailable | SslPolicyErrors.RemoteCertificateChainErrors)) != 0) return false;
        return cert.MatchesHostname(host);
    }

    private readonly object _tokenGate = new();
    private (string Token, DateTime WrittenUtc, DateTime ReadUtc)? _tokenFile;

    /// <summary>
    /// The token of a tokenFile (in-cluster: the projected service-account token), re-read when the file changes, at
    /// least once a minute, and after a 401 (kubelet rotates projected tokens; client-go re-reads them the same way).
    /// </summary>
    private async Task<string?> TokenFromFileAsync(bool force, CancellationToken cancellationToken)
    {
        var path = _context.TokenFile!;
        DateTime written;
        try
        {
            written = File.GetLastWriteTimeUtc(path);
        }
        catch (IOException)
        {
            written = DateTime.MinValue;
        }
        lock (_tokenGate)
            if (!force && _tokenFile is { } cached && cached.WrittenUtc == written && DateTime.UtcNow - cached.ReadUtc < TimeSpan.FromMinutes(1)) return cached.Token;
        string token;
        try
        {
            token = (await File.ReadAllTextAsync(path, cancellationToken).ConfigureAwait(false)).Trim();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, $"kubeconfig context '{_context.Name}' token file", path,
                $"could not be read ({ex.Message})", _context.InCluster ? "check the service account token mount (automountServiceAccountToken)" : "fix tokenFile in the kubeconfig"));
        }
        lock (_tokenGate) _tokenFile = (token, written, DateTime.UtcNow);
        return token;
    }

    private async Task Authorize(HttpRequestMessage request, bool refresh, CancellationToken cancellationToken)
    {
        string? token = _context.Token;
        if (_context.TokenFile is not null) token = await TokenFromFileAsync(refresh, cancellationToken).ConfigureAwait(false);
        if (_context.Oidc is { } oidc) token = oidc.CurrentToken(_context.Name);
        if (_exec is not null && _context.ClientCertificatePem is null)
        {
            var cred = await _exec.GetAsync(refresh, cancellationToken).ConfigureAwait(false);
            token = cred.Token ?? token;
        }
        if (!string.IsNullOrEmpty(token)) request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        else if (_context.Username is not null)
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{_context.Username}:{_context.Password}")));
    }

    /// <summary>Sends a request with retries; returns the response body as JSON (null for 404 when allowed).</summary>
    public async Task<JsonObject?> SendAsync(HttpMethod method, string pathAndQuery, JsonObject? body, string? contentType, bool allowNotFound, CancellationToken cancellationToken) =>
        (await SendWithStatusAsync(method, pathAndQuery, body, contentType, allowNotFound, cancellationToken).ConfigureAwait(false)).Body;

    /// <summary>Sends a request with retries; returns the response body and status code (null body for 404 when allowed).</summary>
    public async Task<(JsonObject? Body, HttpStatusCode Status)> SendWithStatusAsync(HttpMethod method, string pathAndQuery, JsonObject? body, string? contentType, bool allowNotFound, CancellationToken cancellationToken)
    {
        var idempotent = method != HttpMethod.Post;
        var attempt = 0;
        var refreshed = false;
        while (true)
        {
            attempt++;
            cancellationToken.ThrowIfCancellationRequested();
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            using var request = new HttpRequestMessage(method, pathAndQuery) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
            request.Headers.Accept.ParseAdd("application/json");
            if (body is not null)
                request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, new MediaTypeHeaderValue(contentType ?? "application/json"));
            await Authorize(request, refresh: refreshed, cancellationToken).ConfigureAwait(false);
            var sw = Stopwatch.StartNew();
            HttpResponseMessage response;
            TimeSpan? retryAfter = null;
            string failure;
            try
            {
                Interlocked.Increment(ref _requests);
                var http = await HttpAsync(cancellationToken).ConfigureAwait(false);
                response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                throw;
            }
            catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
            {
                failure = ex is OperationCanceledException ? $"timed out after {_options.RequestTimeout.TotalSeconds:0.#}s" : $"connection failed ({Describe(ex)})";
                _log.Debug($"{_context.Name}: {method} {Redact(pathAndQuery)}: {failure} (attempt {attempt})");
                if (!idempotent || attempt >= _options.MaxAttempts)
                    throw new KubeApiException($"{_context.Name}: {method} {Redact(pathAndQuery)} failed after {attempt} attempt(s): {failure}", ex);
                await Delay(attempt, null, cancellationToken).ConfigureAwait(false);
                continue;
            }
            using (response)
            {
                var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
                _log.Debug($"{_context.Name}: {method} {Redact(pathAndQuery)} -> {(int)response.StatusCode} ({sw.ElapsedMilliseconds} ms)");
                if (response.IsSuccessStatusCode)
                    return (string.IsNullOrWhiteSpace(text) ? new JsonObject() : JsonNode.Parse(text) as JsonObject, response.StatusCode);
                if (response.StatusCode == HttpStatusCode.NotFound && allowNotFound) return (null, response.StatusCode);
                if (response.StatusCode == HttpStatusCode.Unauthorized && (_exec is not null || _context.TokenFile is not null) && !refreshed)
                {
                    refreshed = true; // the plugin's token may have expired early; a token file may have been rotated
                    continue;
                }
                if (response.StatusCode == HttpStatusCode.Unauthorized && _context.Oidc is not null)
                    throw new KubeApiException(_context.Name, method.Method, Redact(pathAndQuery), response.StatusCode, "Unauthorized",
                        $"the API server refused the oidc id-token of kubeconfig user '{_context.UserEntry}'; the built-in oidc auth-provider is deprecated: use an exec credential plugin such as kubelogin (kubectl oidc-login), which refreshes tokens");
                var status = TryParse(text);
                var retryable = idempotent && (response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500);
                if (!retryable || attempt >= _options.MaxAttempts)
                    throw new KubeApiException(_context.Name, method.Method, Redact(pathAndQuery), response.StatusCode,
                        status?["reason"]?.GetValue<string>(), status?["message"]?.GetValue<string>() ?? Truncate(text));
                if (response.Headers.RetryAfter is { } ra)
                    retryAfter = ra.Delta ?? (ra.Date is { } d ? d - DateTimeOffset.UtcNow : null);
                failure = $"{(int)response.StatusCode}";
            }
            _log.Debug($"{_context.Name}: {method} {Redact(pathAndQuery)}: {failure}, retrying (attempt {attempt})");
            await Delay(attempt, retryAfter, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// GET of a text resource (a pod's /metrics through the API server's service proxy): one attempt, the status code
    /// and the body (null unless 2xx). Tokens are never logged.
    /// </summary>
    public async Task<(string? Text, HttpStatusCode Status, string? Failure)> GetTextAsync(string pathAndQuery, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        using var request = new HttpRequestMessage(HttpMethod.Get, pathAndQuery) { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionOrLower };
        request.Headers.Accept.ParseAdd("text/plain");
        request.Headers.Accept.ParseAdd("*/*");
        await Authorize(request, refresh: false, cancellationToken).ConfigureAwait(false);
        try
        {
            Interlocked.Increment(ref _requests);
            var http = await HttpAsync(cancellationToken).ConfigureAwait(false);
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, timeout.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            _log.Debug($"{_context.Name}: GET {Redact(pathAndQuery)} -> {(int)response.StatusCode}");
            if (response.IsSuccessStatusCode) return (text, response.StatusCode, null);
            var status = TryParse(text);
            return (null, response.StatusCode, $"{(int)response.StatusCode} {status?["message"]?.GetValue<string>() ?? Truncate(text.Trim())}");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is HttpRequestException or IOException or OperationCanceledException)
        {
            return (null, 0, ex is OperationCanceledException ? $"timed out after {_options.RequestTimeout.TotalSeconds:0.#}s" : $"connection failed ({Describe(ex)})");
        }
    }

    private Task Delay(int attempt, TimeSpan? retryAfter, CancellationToken cancellationToken)
    {
        TimeSpan delay;
        if (retryAfter is { } ra && ra > TimeSpan.Zero) delay = ra < _options.RetryAfterCap ? ra : _options.RetryAfterCap;
        else
        {
            // Full jitter: a random delay up to base * 2^(attempt-1), capped.
            var cap = Math.Min(_options.MaxDelay.TotalMilliseconds, _options.BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
            delay = TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap);
        }
        return Task.Delay(delay, cancellationToken);
    }

    private static string Describe(Exception ex)
    {
        var inner = ex;
        while (inner.InnerException is not null) inner = inner.InnerException;
        return inner.Message;
    }

    private static JsonObject? TryParse(string text)
    {
        try
        {
            return JsonNode.Parse(text) as JsonObject;
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string Truncate(string text) => text.Length > 300 ? text[..300] + "..." : text;

    /// <summary>Query strings never carry secrets here, but paths are logged without them to stay safe.</summary>
    private static string Redact(string pathAndQuery) => pathAndQuery.Split('?')[0];

    // ---- discovery ----

    /// <summary>The resources of one group/version, or null when the server does not serve it.</summary>
    public Task<IReadOnlyList<ApiResource>?> ResourcesAsync(string apiVersion, CancellationToken cancellationToken)
    {
        lock (_discoveryGate)
        {
            if (!_discovery.TryGetValue(apiVersion, out var task) || task.IsFaulted || task.IsCanceled)
                _discovery[apiVersion] = task = LoadResourcesAsync(apiVersion, cancellationToken);
            return task;
        }
    }

    private async Task<IReadOnlyList<ApiResource>?> LoadResourcesAsync(string apiVersion, CancellationToken cancellationToken)
    {
        var (group, version) = Split(apiVersion);
        var path = group.Length == 0 ? $"/api/{version}" : $"/apis/{group}/{version}";
        var list = await SendAsync(HttpMethod.Get, path, null, null, allowNotFound: true, cancellationToken).ConfigureAwait(false);
        if (list?["resources"] is not JsonArray resources) return null;
        return resources.OfType<JsonObject>()
            .Where(r => r["name"]?.GetValue<string>() is { } n && !n.Contains('/', StringComparison.Ordinal))
            .Select(r => new ApiResource(group, version, r["name"]!.GetValue<string>(), r["kind"]!.GetValue<string>(),
                r["namespaced"]?.GetValue<bool>() ?? false,
                (r["shortNames"] as JsonArray)?.Select(s => s!.GetValue<string>()).ToList() ?? new List<string>()))
            .ToList();
    }

    /// <summary>Is this kind served? A preflight for the Maistra, Sail and Istio CRDs.</summary>
    public async Task<ApiResource?> FindAsync(string apiVersion, string kind, CancellationToken cancellationToken) =>
        (await ResourcesAsync(apiVersion, cancellationToken).ConfigureAwait(false))?.FirstOrDefault(r => r.Kind == kind);

    private async Task<ApiResource> RequireAsync(string apiVersion, string kind, CancellationToken cancellationToken) =>
        await FindAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false)
        ?? throw new KubeApiException(_context.Name, "GET", apiVersion, HttpStatusCode.NotFound, "NotFound",
            $"the server does not serve {kind} ({apiVersion}); install the operator that provides it");

    public static (string Group, string Version) Split(string apiVersion)
    {
        var i = apiVersion.IndexOf('/', StringComparison.Ordinal);
        return i < 0 ? ("", apiVersion) : (apiVersion[..i], apiVersion[(i + 1)..]);
    }

    // ---- operations ----

    public async Task<JsonObject?> GetAsync(string apiVersion, string kind, string? ns, string name, CancellationToken cancellationToken)
    {
        var r = await RequireAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false);
        return await SendAsync(HttpMethod.Get, r.PathFor(ns, name), null, null, allowNotFound: true, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<JsonObject>> ListAsync(string apiVersion, string kind, string? ns, string? labelSelector, CancellationToken cancellationToken)
    {
        var r = await RequireAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false);
        var path = r.PathFor(ns, null) + (string.IsNullOrEmpty(labelSelector) ? "" : "?labelSelector=" + Uri.EscapeDataString(labelSelector));
        var list = await SendAsync(HttpMethod.Get, path, null, null, allowNotFound: true, cancellationToken).ConfigureAwait(false);
        var items = (list?["items"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        foreach (var i in items)
        {
            // List items omit apiVersion/kind; restore them so items are complete objects.
            i["apiVersion"] ??= apiVersion;
            i["kind"] ??= kind;
        }
        return items;
    }

    /// <summary>Server-side apply (application/apply-patch+yaml) with field manager <c>meshfederation</c>; force only when asked.</summary>
    public async Task<JsonObject> ApplyAsync(JsonObject obj, bool force, CancellationToken cancellationToken) =>
        (await ApplyAsync(obj, force, dryRun: false, cancellationToken).ConfigureAwait(false)).Object;

    /// <summary>
    /// Server-side apply with strict field validation (unknown fields fail, naming their path); with
    /// <paramref name="dryRun"/> the server computes the result (defaults, validation, conflicts) and stores nothing.
    /// Created tells whether the object did not exist (201).
    /// </summary>
    public async Task<(JsonObject Object, bool Created)> ApplyAsync(JsonObject obj, bool force, bool dryRun, CancellationToken cancellationToken)
    {
        var apiVersion = obj["apiVersion"]!.GetValue<string>();
        var kind = obj["kind"]!.GetValue<string>();
        var ns = obj["metadata"]?["namespace"]?.GetValue<string>();
        var name = obj["metadata"]!["name"]!.GetValue<string>();
        var r = await RequireAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false);
        var path = r.PathFor(r.Namespaced ? ns : null, name) + $"?fieldManager={Uri.EscapeDataString(_options.FieldManager)}&fieldValidation=Strict"
                   + (force ? "&force=true" : "") + (dryRun ? "&dryRun=All" : "");
        var (body, status) = await SendWithStatusAsync(HttpMethod.Patch, path, obj, "application/apply-patch+yaml", allowNotFound: false, cancellationToken).ConfigureAwait(false);
        return (body!, status == HttpStatusCode.Created);
    }

    public string FieldManager => _options.FieldManager;

    /// <summary>Deletes an object; false when it did not exist.</summary>
    public async Task<bool> DeleteAsync(string apiVersion, string kind, string? ns, string name, string propagationPolicy, CancellationToken cancellationToken)
    {
        var r = await RequireAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false);
        var body = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "DeleteOptions", ["propagationPolicy"] = propagationPolicy };
        return await SendAsync(HttpMethod.Delete, r.PathFor(ns, name), body, null, allowNotFound: true, cancellationToken).ConfigureAwait(false) is not null;
    }

    public void Dispose()
    {
        _http?.Dispose();
        _httpGate.Dispose();
        _exec?.Dispose();
    }
}
