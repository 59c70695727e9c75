using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Engine.Kube;

/// <summary>An exec credential plugin (client.authentication.k8s.io v1 or v1beta1), as oc, EKS and GKE use.</summary>
public sealed record ExecConfig(string ApiVersion, string Command, IReadOnlyList<string> Args, IReadOnlyDictionary<string, string> Env, string? InstallHint, bool ProvideClusterInfo, string BaseDirectory);

/// <summary>The resolved connection settings of one kubeconfig context.</summary>
public sealed class KubeContext
{
    public required string Name { get; init; }

    public required string ClusterName { get; init; }

    public required Uri Server { get; init; }

    /// <summary>PEM of the CA that signs the API server's certificate (certificate-authority or -data).</summary>
    public string? CertificateAuthorityPem { get; init; }

    public bool InsecureSkipTlsVerify { get; init; }

    public string? TlsServerName { get; init; }

    public Uri? ProxyUrl { get; init; }

    public string Namespace { get; init; } = "default";

    public string? Token { get; init; }

    public string? TokenFile { get; init; }

    public string? ClientCertificatePem { get; init; }

    public string? ClientKeyPem { get; init; }

    public string? Username { get; init; }

    public string? Password { get; init; }

    public ExecConfig? Exec { get; init; }

    /// <summary>The id-token of an <c>auth-provider: oidc</c> user.</summary>
    public OidcToken? Oidc { get; init; }

    /// <summary>The kubeconfig user entry's name (for messages).</summary>
    public string? UserEntry { get; init; }

    /// <summary>Built from the pod's service account (in-cluster configuration), not from a kubeconfig.</summary>
    public bool InCluster { get; init; }

    /// <summary>The kubeconfig files the context was read from, for messages.</summary>
    public IReadOnlyList<string> Sources { get; init; } = Array.Empty<string>();

    public override string ToString() => $"{Name} ({Server})";
}

/// <summary>
/// Loads kubeconfig as kubectl does: an explicit file, else every file of $KUBECONFIG merged (the first file to set a
/// value wins), else ~/.kube/config. Relative paths are relative to the file that names them.
/// </summary>
public sealed class KubeConfig
{
    private readonly Dictionary<string, (JsonObject Node, string File)> _clusters = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (JsonObject Node, string File)> _users = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (JsonObject Node, string File)> _contexts = new(StringComparer.Ordinal);

    public string? CurrentContext { get; private set; }

    public IReadOnlyList<string> Files { get; private set; } = Array.Empty<string>();

    public IReadOnlyCollection<string> ContextNames => _contexts.Keys;

    /// <summary>The files kubectl would read: the explicit one, or $KUBECONFIG's list, or ~/.kube/config.</summary>
    public static IReadOnlyList<string> DefaultFiles(string? explicitPath, IReadOnlyDictionary<string, string?>? environment = null)
    {
        string? Env(string n) => environment is not null ? (environment.TryGetValue(n, out var v) ? v : null) : Environment.GetEnvironmentVariable(n);
        if (!string.IsNullOrEmpty(explicitPath)) return new[] { Path.GetFullPath(explicitPath) };
        var list = Env("KUBECONFIG");
        if (!string.IsNullOrEmpty(list))
            return list.Split(RuntimeInformation.IsOSPlatform(OSPlatform.Windows) ? ';' : ':', StringSplitOptions.RemoveEmptyEntries)
                .Select(Path.GetFullPath).Distinct(StringComparer.Ordinal).ToList();
        var home = Env("HOME") ?? Env("USERPROFILE") ?? Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        return new[] { Path.Combine(home, ".kube", "config") };
    }

    public static KubeConfig Load(string? explicitPath, IYamlBridge yaml, IReadOnlyDictionary<string, string?>? environment = null)
    {
        var files = DefaultFiles(explicitPath, environment);
        var config = new KubeConfig { Files = files };
        var problems = new ProblemList();
        var read = 0;
        foreach (var file in files)
        {
            if (!File.Exists(file))
            {
                // kubectl ignores missing $KUBECONFIG entries but fails on an explicit --kubeconfig.
                if (!string.IsNullOrEmpty(explicitPath) || files.Count == 1)
                    problems.Add(MeshErrorKind.Io, "kubeconfig", file, "does not exist",
                        string.IsNullOrEmpty(explicitPath) ? "set $KUBECONFIG or -KubeConfig to your kubeconfig file" : "check the -KubeConfig path");
                continue;
            }
            JsonObject? doc;
            try
            {
                // A regular text file of sane size only: a binary file or a FIFO is named as such, not misread.
                var text = IO.InputFile.ReadText(file, "kubeconfig", IO.InputFile.MaxKubeConfigBytes, "give a kubeconfig file (kubectl config view --raw > file)");
                var first = yaml.Parse(text, file).FirstOrDefault();
                if (first is not null && first.Kind != Yaml.YNodeKind.Mapping)
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "kubeconfig", file,
                        "is not a kubeconfig (a YAML mapping with clusters, users and contexts)", "give a kubeconfig file (kubectl config view --raw > file)") { Location = first.Location });
                doc = first?.ToJson() as JsonObject;
            }
            catch (MeshFederationException ex)
            {
                problems.AddRange(ex.Problems);
                continue;
            }
            read++;
            if (doc is null) continue;
            config.CurrentContext ??= doc["current-context"] is JsonValue ccv && ccv.TryGetValue<string>(out var cc) && cc.Length > 0 ? cc : null;
            Merge(doc, "clusters", "cluster", config._clusters, file, problems);
            Merge(doc, "users", "user", config._users, file, problems);
            Merge(doc, "contexts", "context", config._contexts, file, problems);
        }
        problems.ThrowIfAny();
        if (read == 0)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, "kubeconfig", string.Join(Path.PathSeparator, files),
                "none of the kubeconfig files exist", "set $KUBECONFIG or pass -KubeConfig"));
        return config;
    }

    /// <summary>
    /// A kubeconfig held in memory, such as the one inside an Istio remote secret; <paramref name="source"/> names it in
    /// messages. Resolved like a file's, except that relative file paths have no folder to be relative to.
    /// </summary>
    public static KubeConfig Parse(string text, string source, IYamlBridge yaml)
    {
        var config = new KubeConfig { Files = new[] { source } };
        var problems = new ProblemList();
        if (yaml.Parse(text, source).FirstOrDefault()?.ToJson() is not JsonObject doc)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, "kubeconfig", source, "is not a kubeconfig (no mapping)", "give a kubeconfig with clusters, contexts and users"));
        config.CurrentContext = doc["current-context"] is JsonValue cv && cv.TryGetValue<string>(out var cc) && cc.Length > 0 ? cc : null;
        Merge(doc, "clusters", "cluster", config._clusters, source, problems);
        Merge(doc, "users", "user", config._users, source, problems);
        Merge(doc, "contexts", "context", config._contexts, source, problems);
        problems.ThrowIfAny();
        return config;
    }

    private static void Merge(JsonObject doc, string listKey, string itemKey, Dictionary<string, (JsonObject, string)> into, string file, ProblemList problems)
    {
        if (doc[listKey] is not JsonArray list) return;
        foreach (var entry in list)
        {
            var name = entry?["name"] is JsonValue nv && nv.TryGetValue<string>(out var n) ? n : null;
            if (string.IsNullOrEmpty(name) || entry![itemKey] is not JsonObject body)
            {
                problems.Add(MeshErrorKind.InvalidData, $"{listKey}[]", name ?? "", $"has no name or no '{itemKey}' section", $"fix the entry in {file}");
                continue;
            }
            into.TryAdd(name, (body, file)); // first file wins, as in kubectl
        }
    }

    /// <summary>Resolves a context (the current one when null) into connection settings; every missing piece is named.</summary>
    public KubeContext Resolve(string? contextName)
    {
        var name = string.IsNullOrEmpty(contextName) ? CurrentContext : contextName;
        var where = string.Join(", ", Files);
        if (string.IsNullOrEmpty(name))
            throw Problem("current-context", null, $"is not set in {where}", "pass -Context, or run 'kubectl config use-context <name>'");
        if (!_contexts.TryGetValue(name, out var ctx))
            throw Problem("context", name, $"is not in {where}", $"use one of: {string.Join(", ", _contexts.Keys.Order(StringComparer.Ordinal))}");
        var clusterName = ctx.Node["cluster"]?.GetValue<string>();
        if (string.IsNullOrEmpty(clusterName) || !_clusters.TryGetValue(clusterName, out var cluster))
            throw Problem($"context '{name}'.cluster", clusterName, $"names no cluster defined in {where}", "add the cluster entry or fix the context");
        var userName = ctx.Node["user"]?.GetValue<string>();
        JsonObject user = new();
        var userFile = ctx.File;
        if (!string.IsNullOrEmpty(userName))
        {
            if (!_users.TryGetValue(userName, out var u))
                throw Problem($"context '{name}'.user", userName, $"names no user defined in {where}", "add the user entry or fix the context");
            user = u.Node;
            userFile = u.File;
        }
        var server = cluster.Node["server"]?.GetValue<string>();
        if (string.IsNullOrEmpty(server) || !Uri.TryCreate(server, UriKind.Absolute, out var serverUri))
            throw Problem($"cluster '{clusterName}'.server", server, $"is not an absolute URL (in {cluster.File})", "set server: https://<host>:<port>");

        string? Str(JsonObject o, string k) => o[k]?.GetValue<string>();
        string? ReadFile(string? path, string baseFile, string field)
        {
            if (string.IsNullOrEmpty(path)) return null;
            var full = Path.IsPathRooted(path) ? path : Path.Combine(Path.GetDirectoryName(baseFile)!, path);
            if (!File.Exists(full)) throw Problem(field, full, $"does not exist (named in {baseFile})", "fix the path or inline the data (*-data)");
            return File.ReadAllText(full);
        }
        string? Data(string? base64, string field)
        {
            if (string.IsNullOrEmpty(base64)) return null;
            try
            {
                return System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(base64));
            }
            catch (FormatException)
            {
                throw Problem(field, "(not shown)", "is not valid base64", "paste the base64 of the PEM file");
            }
        }

        var ca = Data(Str(cluster.Node, "certificate-authority-data"), $"cluster '{clusterName}'.certificate-authority-data")
                 ?? ReadFile(Str(cluster.Node, "certificate-authority"), cluster.File, $"cluster '{clusterName}'.certificate-authority");
        Uri? proxy = null;
        if (Str(cluster.Node, "proxy-url") is { Length: > 0 } p && !Uri.TryCreate(p, UriKind.Absolute, out proxy))
            throw Problem($"cluster '{clusterName}'.proxy-url", p, "is not an absolute URL", "use http://host:port");

        ExecConfig? exec = null;
        if (user["exec"] is JsonObject e)
        {
            var cmd = Str(e, "command");
            if (string.IsNullOrEmpty(cmd)) throw Problem($"user '{userName}'.exec.command", null, "is missing", "name the credential plugin's command");
            var api = Str(e, "apiVersion") ?? "";
            if (api is not ("client.authentication.k8s.io/v1" or "client.authentication.k8s.io/v1beta1"))
                throw Problem($"user '{userName}'.exec.apiVersion", api, "is not a supported exec credential version", "use client.authentication.k8s.io/v1 or v1beta1");
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            if (e["env"] is JsonArray envs)
                foreach (var item in envs)
                    if (item?["name"]?.GetValue<string>() is { } n) env[n] = item["value"]?.GetValue<string>() ?? "";
            exec = new ExecConfig(api, cmd, (e["args"] as JsonArray)?.Select(a => a!.GetValue<string>()).ToList() ?? new List<string>(), env,
                Str(e, "installHint"), e["provideClusterInfo"]?.GetValue<bool>() ?? false, Path.GetDirectoryName(userFile)!);
        }

        OidcToken? oidc = null;
        if (user["auth-provider"] is JsonObject provider)
        {
            var providerName = Str(provider, "name");
            if (providerName != "oidc")
                throw Problem($"user '{userName}'.auth-provider.name", providerName,
                    "is not supported (kubectl dropped the gcp and azure auth providers in 1.26)",
                    "use the provider's exec credential plugin: gke-gcloud-auth-plugin for GKE, kubelogin for AKS (users[].user.exec)");
            var cfg = provider["config"] as JsonObject ?? new JsonObject();
            oidc = new OidcToken(userName ?? "", Str(cfg, "id-token"), Str(cfg, "idp-issuer-url"));
        }

        var certificate = Data(Str(user, "client-certificate-data"), $"user '{userName}'.client-certificate-data")
                          ?? ReadFile(Str(user, "client-certificate"), userFile, $"user '{userName}'.client-certificate");
        var key = Data(Str(user, "client-key-data"), $"user '{userName}'.client-key-data")
                  ?? ReadFile(Str(user, "client-key"), userFile, $"user '{userName}'.client-key");
        if ((certificate is null) != (key is null))
            throw Problem($"user '{userName}'.{(certificate is null ? "client-certificate" : "client-key")}", null,
                "is missing: a client certificate needs both the certificate and the key", "set both client-certificate(-data) and client-key(-data)");
        var tokenFile = Str(user, "tokenFile");
        if (!string.IsNullOrEmpty(tokenFile) && !Path.IsPathRooted(tokenFile)) tokenFile = Path.Combine(Path.GetDirectoryName(userFile)!, tokenFile);
        if (!string.IsNullOrEmpty(tokenFile) && !File.Exists(tokenFile))
            throw Problem($"user '{userName}'.tokenFile", tokenFile, "does not exist", "fix the path or use token:");

        return new KubeContext
        {
            Name = name,
            ClusterName = clusterName,
            Server = serverUri,
            CertificateAuthorityPem = ca,
            InsecureSkipTlsVerify = cluster.Node["insecure-skip-tls-verify"]?.GetValue<bool>() ?? false,
            TlsServerName = Str(cluster.Node, "tls-server-name"),
            ProxyUrl = proxy,
            Namespace = Str(ctx.Node, "namespace") is { Length: > 0 } ns ? ns : "default",
            Token = Str(user, "token"),
            TokenFile = string.IsNullOrEmpty(tokenFile) ? null : tokenFile,
            ClientCertificatePem = certificate,
            ClientKeyPem = key,
            Username = Str(user, "username"),
            Password = Str(user, "password"),
            Exec = exec,
            Oidc = oidc,
            UserEntry = userName,
            Sources = Files,
        };
    }

    /// <summary>Where a pod's service account is mounted.</summary>
    public const string ServiceAccountDirectory = "/var/run/secrets/kubernetes.io/serviceaccount";

    /// <summary>
    /// Is in-cluster configuration usable: KUBERNETES_SERVICE_HOST and _PORT are set (as in every pod)? The service
    /// account directory is $MESHFED_SERVICEACCOUNT_DIR when set (tests, unusual mounts), else the standard mount.
    /// </summary>
    public static bool InClusterAvailable(IReadOnlyDictionary<string, string?>? environment = null)
    {
        string? Env(string n) => environment is not null ? (environment.TryGetValue(n, out var v) ? v : null) : Environment.GetEnvironmentVariable(n);
        return !string.IsNullOrEmpty(Env("KUBERNETES_SERVICE_HOST")) && !string.IsNullOrEmpty(Env("KUBERNETES_SERVICE_PORT"));
    }

    /// <summary>Does any of the kubeconfig files kubectl would read exist?</summary>
    public static bool AnyFileExists(string? explicitPath, IReadOnlyDictionary<string, string?>? environment = null) =>
        DefaultFiles(explicitPath, environment).Any(File.Exists);

    /// <summary>
    /// In-cluster configuration, as client-go's rest.InClusterConfig: https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT,
    /// the service account's CA (ca.crt), its token (token, re-read when kubelet rotates it) and namespace.
    /// </summary>
    public static KubeContext InCluster(IReadOnlyDictionary<string, string?>? environment = null)
    {
        string? Env(string n) => environment is not null ? (environment.TryGetValue(n, out var v) ? v : null) : Environment.GetEnvironmentVariable(n);
        var host = Env("KUBERNETES_SERVICE_HOST");
        var port = Env("KUBERNETES_SERVICE_PORT");
        if (string.IsNullOrEmpty(host) || string.IsNullOrEmpty(port))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "in-cluster configuration", null,
                "is not available: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set (they are in every pod)",
                "run inside a pod, or give a kubeconfig (-KubeConfig, --kubeconfig, $KUBECONFIG)"));
        var dir = Env("MESHFED_SERVICEACCOUNT_DIR") is { Length: > 0 } d ? d : ServiceAccountDirectory;
        var tokenFile = Path.Combine(dir, "token");
        var caFile = Path.Combine(dir, "ca.crt");
        if (!File.Exists(tokenFile))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, "in-cluster service account token", tokenFile, "does not exist",
                "mount the service account token (automountServiceAccountToken: true, or a projected serviceAccountToken volume)"));
        if (!File.Exists(caFile))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.Io, "in-cluster service account CA", caFile, "does not exist",
                "mount the service account's ca.crt (it comes with the token)"));
        var nsFile = Path.Combine(dir, "namespace");
        var server = new UriBuilder("https", host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[') ? $"[{host}]" : host,
            int.TryParse(port, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var p) ? p : 443).Uri;
        return new KubeContext
        {
            Name = "in-cluster",
            ClusterName = "in-cluster",
            Server = server,
            CertificateAuthorityPem = File.ReadAllText(caFile),
            Namespace = File.Exists(nsFile) && File.ReadAllText(nsFile).Trim() is { Length: > 0 } ns ? ns : "default",
            TokenFile = tokenFile,
            UserEntry = "serviceaccount",
            InCluster = true,
            Sources = new[] { dir },
        };
    }

    private static MeshFederationException Problem(string field, string? value, string problem, string fix) =>
        new(new MeshProblem(MeshErrorKind.InvalidArgument, "kubeconfig " + field, value, problem, fix));
}
