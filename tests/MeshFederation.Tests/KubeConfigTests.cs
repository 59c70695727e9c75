using System.Net;
using System.Net.Sockets;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Validation;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>Kubeconfig as kubectl reads it: merging, every auth kind, exec plugins, TLS settings, missing pieces.</summary>
public sealed class KubeConfigTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;
    private FakeApiServer Server => _clusters.Servers[0];
    private string Dir => _clusters.Directory;

    public async Task InitializeAsync() => _clusters = await TestClusters.StartAsync("alpha");

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private static string B64(string s) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(s));

    private string Write(string name, string userYaml, string clusterExtra = "", string? server = null, string context = "ctx")
    {
        var path = Path.Combine(Dir, name);
        File.WriteAllText(path, $"apiVersion: v1\nkind: Config\ncurrent-context: {context}\nclusters:\n- name: c\n  cluster:\n    server: {server ?? Server.Url.ToString().TrimEnd('/')}\n{clusterExtra}"
            + $"contexts:\n- name: {context}\n  context:\n    cluster: c\n    user: u\n    namespace: blue-mesh-system\nusers:\n- name: u\n  user:\n{userYaml}");
        return path;
    }

    private string CaData => $"    certificate-authority-data: {B64(Server.CaPem)}\n";

    private async Task<string> ReachAsync(string kubeconfig, string? context = null)
    {
        var ctx = KubeConfig.Load(kubeconfig, TestSupport.Yaml).Resolve(context);
        using var client = new KubeClient(ctx, TestClusters.Fast);
        var before = Server.AuthLog.Count;
        var ns = await client.ListAsync("v1", "Namespace", null, null, CancellationToken.None);
        Assert.NotNull(ns);
        lock (Server.AuthLog) return Server.AuthLog[before];
    }

    [Fact]
    public async Task Bearer_token_and_context_namespace()
    {
        var path = Write("token", $"    token: {TestClusters.Token}\n", CaData);
        Assert.Equal("bearer", await ReachAsync(path));
        Assert.Equal("blue-mesh-system", KubeConfig.Load(path, TestSupport.Yaml).Resolve(null).Namespace);
    }

    [Fact]
    public async Task Token_file_relative_to_the_kubeconfig()
    {
        File.WriteAllText(Path.Combine(Dir, "token.txt"), TestClusters.Token + "\n");
        Assert.Equal("bearer", await ReachAsync(Write("tokenfile", "    tokenFile: token.txt\n", CaData)));
    }

    [Fact]
    public async Task Client_certificate_inline_and_from_files()
    {
        var (cert, key) = _clusters.Pki.Client("alice");
        Assert.Equal("cert:CN=alice, O=system:masters", await ReachAsync(Write("certdata", $"    client-certificate-data: {B64(cert)}\n    client-key-data: {B64(key)}\n", CaData)));
        Directory.CreateDirectory(Path.Combine(Dir, "pki"));
        File.WriteAllText(Path.Combine(Dir, "pki", "alice.crt"), cert);
        File.WriteAllText(Path.Combine(Dir, "pki", "alice.key"), key);
        File.WriteAllText(Path.Combine(Dir, "pki", "ca.crt"), Server.CaPem);
        Assert.Equal("cert:CN=alice, O=system:masters",
            await ReachAsync(Write("certfiles", "    client-certificate: pki/alice.crt\n    client-key: pki/alice.key\n", "    certificate-authority: pki/ca.crt\n")));
    }

    [Theory]
    [InlineData("client.authentication.k8s.io/v1")]
    [InlineData("client.authentication.k8s.io/v1beta1")]
    public async Task Exec_plugin_with_args_and_env_gives_a_token(string apiVersion)
    {
        // The plugin builds the token from an argument and an environment variable, and checks KUBERNETES_EXEC_INFO.
        var script = Path.Combine(Dir, "plugin.sh");
        var half = TestClusters.Token.Length / 2;
        File.WriteAllText(script, "#!/bin/sh\n"
            + $"case \"$KUBERNETES_EXEC_INFO\" in *'\"apiVersion\":\"{apiVersion}\"'*) ;; *) echo \"bad exec info\" >&2; exit 3;; esac\n"
            + $"printf '{{\"apiVersion\":\"{apiVersion}\",\"kind\":\"ExecCredential\",\"status\":{{\"token\":\"%s%s\",\"expirationTimestamp\":\"2099-01-01T00:00:00Z\"}}}}' \"$1\" \"$TOKEN_TAIL\"\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        var user = $"    exec:\n      apiVersion: {apiVersion}\n      command: ./plugin.sh\n      args: [\"{TestClusters.Token[..half]}\"]\n      env:\n      - name: TOKEN_TAIL\n        value: \"{TestClusters.Token[half..]}\"\n      interactiveMode: Never\n";
        Assert.Equal("bearer", await ReachAsync(Write("exec-" + apiVersion.Split('/')[1], user, CaData)));
    }

    [Fact]
    public async Task Exec_plugin_can_return_a_client_certificate()
    {
        var (cert, key) = _clusters.Pki.Client("robot");
        var json = System.Text.Json.JsonSerializer.Serialize(new { apiVersion = "client.authentication.k8s.io/v1", kind = "ExecCredential", status = new { clientCertificateData = cert, clientKeyData = key } });
        var credFile = Path.Combine(Dir, "cred.json");
        File.WriteAllText(credFile, json);
        var user = $"    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: cat\n      args: [\"{credFile}\"]\n";
        Assert.Equal("cert:CN=robot, O=system:masters", await ReachAsync(Write("exec-cert", user, CaData)));
    }

    [Fact]
    public async Task A_failing_or_missing_exec_plugin_is_named_with_its_install_hint()
    {
        var user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /nonexistent/oc-login\n      installHint: install oc from the OpenShift console\n";
        var ctx = KubeConfig.Load(Write("exec-missing", user, CaData), TestSupport.Yaml).Resolve(null);
        using var client = new KubeClient(ctx, TestClusters.Fast);
        var ex = await Assert.ThrowsAsync<MeshFederationException>(() => client.ListAsync("v1", "Namespace", null, null, CancellationToken.None));
        Assert.Contains("/nonexistent/oc-login", ex.Message, StringComparison.Ordinal);
        Assert.Contains("install oc from the OpenShift console", ex.Message, StringComparison.Ordinal);

        var failing = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: sh\n      args: [\"-c\", \"echo 'session expired' >&2; exit 1\"]\n";
        ctx = KubeConfig.Load(Write("exec-fail", failing, CaData), TestSupport.Yaml).Resolve(null);
        using var client2 = new KubeClient(ctx, TestClusters.Fast);
        ex = await Assert.ThrowsAsync<MeshFederationException>(() => client2.ListAsync("v1", "Namespace", null, null, CancellationToken.None));
        Assert.Contains("session expired", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KUBECONFIG_lists_merge_with_the_first_file_winning()
    {
        var first = Write("first", $"    token: first-token\n", CaData, context: "shared");
        var second = Path.Combine(Dir, "second");
        File.WriteAllText(second, "apiVersion: v1\nkind: Config\ncurrent-context: other\nclusters:\n- name: c\n  cluster:\n    server: https://10.0.0.1:6443\n- name: c2\n  cluster:\n    server: https://10.0.0.2:6443\n"
            + "contexts:\n- name: shared\n  context: {cluster: c2, user: u2}\n- name: other\n  context: {cluster: c2, user: u2}\nusers:\n- name: u\n  user: {token: second-token}\n- name: u2\n  user: {token: u2-token}\n");
        var env = new Dictionary<string, string?> { ["KUBECONFIG"] = $"{first}:{Path.Combine(Dir, "missing")}:{second}" };
        var config = KubeConfig.Load(null, TestSupport.Yaml, env);
        Assert.Equal("shared", config.CurrentContext);
        var shared = config.Resolve(null);
        Assert.Equal(Server.Url.Port, shared.Server.Port);     // cluster 'c' from the first file
        Assert.Equal("first-token", shared.Token);             // user 'u' from the first file
        var other = config.Resolve("other");                   // only in the second file
        Assert.Equal("https://10.0.0.2:6443/", other.Server.ToString());
        Assert.Equal("u2-token", other.Token);
        Assert.Equal(new[] { "other", "shared" }, config.ContextNames.Order(StringComparer.Ordinal));
        // Without $KUBECONFIG: ~/.kube/config.
        var home = Path.Combine(Dir, "home");
        Directory.CreateDirectory(Path.Combine(home, ".kube"));
        File.Copy(first, Path.Combine(home, ".kube", "config"));
        Assert.Equal("first-token", KubeConfig.Load(null, TestSupport.Yaml, new Dictionary<string, string?> { ["HOME"] = home }).Resolve(null).Token);
    }

    [Fact]
    public void Missing_and_broken_pieces_say_exactly_what_and_where()
    {
        var ex = Assert.Throws<MeshFederationException>(() => KubeConfig.Load(Path.Combine(Dir, "nope"), TestSupport.Yaml));
        Assert.Contains(Path.Combine(Dir, "nope"), ex.Message, StringComparison.Ordinal);
        Assert.Contains("does not exist", ex.Message, StringComparison.Ordinal);

        var path = Write("broken", "    client-certificate: missing.crt\n    client-key: missing.key\n", "    certificate-authority: nowhere/ca.crt\n");
        var config = KubeConfig.Load(path, TestSupport.Yaml);
        ex = Assert.Throws<MeshFederationException>(() => config.Resolve(null));
        Assert.Contains("certificate-authority", ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(Dir, "nowhere", "ca.crt"), ex.Message, StringComparison.Ordinal);
        Assert.Contains(path, ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<MeshFederationException>(() => config.Resolve("prod"));
        Assert.Contains("'prod'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("use one of: ctx", ex.Message, StringComparison.Ordinal);

        var halfCert = Write("halfcert", $"    client-certificate-data: {B64("x")}\n", CaData);
        ex = Assert.Throws<MeshFederationException>(() => KubeConfig.Load(halfCert, TestSupport.Yaml).Resolve(null));
        Assert.Contains("client-key", ex.Message, StringComparison.Ordinal);

        File.WriteAllText(Path.Combine(Dir, "garbage"), "clusters: [\n");
        ex = Assert.Throws<MeshFederationException>(() => KubeConfig.Load(Path.Combine(Dir, "garbage"), TestSupport.Yaml));
        Assert.Contains("garbage:", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TLS_the_wrong_CA_fails_insecure_skip_passes_and_tls_server_name_is_checked()
    {
        using var otherPki = new TestPki("other");
        var wrongCa = $"    certificate-authority-data: {B64(otherPki.CaPem)}\n";
        var ctx = KubeConfig.Load(Write("wrongca", $"    token: {TestClusters.Token}\n", wrongCa), TestSupport.Yaml).Resolve(null);
        using (var c = new KubeClient(ctx, new KubeClientOptions { MaxAttempts = 1 }))
            await Assert.ThrowsAsync<KubeApiException>(() => c.ListAsync("v1", "Namespace", null, null, CancellationToken.None));

        Assert.Equal("bearer", await ReachAsync(Write("insecure", $"    token: {TestClusters.Token}\n", "    insecure-skip-tls-verify: true\n")));

        // The server certificate names 127.0.0.1, localhost and kubernetes.test; reach it by IP but verify the name.
        Assert.Equal("bearer", await ReachAsync(Write("sni-ok", $"    token: {TestClusters.Token}\n", CaData + "    tls-server-name: kubernetes.test\n")));
        ctx = KubeConfig.Load(Write("sni-bad", $"    token: {TestClusters.Token}\n", CaData + "    tls-server-name: other.example\n"), TestSupport.Yaml).Resolve(null);
        using (var c = new KubeClient(ctx, new KubeClientOptions { MaxAttempts = 1 }))
            await Assert.ThrowsAsync<KubeApiException>(() => c.ListAsync("v1", "Namespace", null, null, CancellationToken.None));
    }

    [Fact]
    public async Task Proxy_url_tunnels_through_an_HTTP_CONNECT_proxy()
    {
        using var proxy = new ConnectProxy();
        Assert.Equal("bearer", await ReachAsync(Write("proxied", $"    token: {TestClusters.Token}\n", CaData + $"    proxy-url: http://127.0.0.1:{proxy.Port}\n")));
        Assert.Contains($"CONNECT 127.0.0.1:{Server.Url.Port}", proxy.Requests);
    }

    /// <summary>A minimal HTTP CONNECT proxy on loopback.</summary>
    private sealed class ConnectProxy : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        public List<string> Requests { get; } = new();
        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public ConnectProxy()
        {
            _listener.Start();
            _ = Task.Run(async () =>
            {
                while (true)
                {
                    TcpClient client;
                    try { client = await _listener.AcceptTcpClientAsync(); } catch { return; }
                    _ = Task.Run(() => Serve(client));
                }
            });
        }

        private async Task Serve(TcpClient client)
        {
            using (client)
            {
                var stream = client.GetStream();
                var header = new List<byte>();
                var one = new byte[1];
                while (!(header.Count >= 4 && header[^4] == '\r' && header[^3] == '\n' && header[^2] == '\r' && header[^1] == '\n'))
                {
                    if (await stream.ReadAsync(one) == 0) return;
                    header.Add(one[0]);
                }
                var first = System.Text.Encoding.ASCII.GetString(header.ToArray()).Split("\r\n")[0];
                lock (Requests) Requests.Add(first.Replace(" HTTP/1.1", "", StringComparison.Ordinal));
                var target = first.Split(' ')[1].Split(':');
                using var upstream = new TcpClient();
                await upstream.ConnectAsync(target[0], int.Parse(target[1], System.Globalization.CultureInfo.InvariantCulture));
                await stream.WriteAsync("HTTP/1.1 200 Connection established\r\n\r\n"u8.ToArray());
                var up = upstream.GetStream();
                await Task.WhenAny(stream.CopyToAsync(up), up.CopyToAsync(stream));
            }
        }

        public void Dispose() => _listener.Stop();
    }

    [Fact]
    public void Removed_auth_providers_are_refused_with_the_exec_plugin_that_replaces_them()
    {
        var file = Write("gcp", "    auth-provider:\n      name: gcp\n      config: {access-token: x}\n", CaData);
        var ex = Assert.Throws<MeshFederationException>(() => KubeConfig.Load(file, TestSupport.Yaml).Resolve(null));
        Assert.Contains("auth-provider.name", ex.Message, StringComparison.Ordinal);
        Assert.Contains("gke-gcloud-auth-plugin", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_rotated_token_file_is_read_again_after_a_401()
    {
        var token = Path.Combine(Dir, "rotating-token");
        File.WriteAllText(token, "first-token");
        Server.Tokens["first-token"] = "runner";
        var ctx = KubeConfig.Load(Write("rotating", $"    tokenFile: {token}\n", CaData), TestSupport.Yaml).Resolve(null);
        using var client = new KubeClient(ctx, TestClusters.Fast);
        Assert.NotNull(await client.GetAsync("v1", "Namespace", null, "default", CancellationToken.None));
        // Rotated in place with the same modification time (a clock that did not move): the 401 makes it read again.
        var written = File.GetLastWriteTimeUtc(token);
        File.WriteAllText(token, "second-token");
        File.SetLastWriteTimeUtc(token, written);
        Server.Tokens.TryRemove("first-token", out _);
        Server.Tokens["second-token"] = "runner";
        Assert.NotNull(await client.GetAsync("v1", "Namespace", null, "default", CancellationToken.None));
    }
}
