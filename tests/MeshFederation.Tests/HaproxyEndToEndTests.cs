using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Proxy;

namespace MeshFederation.Tests;

/// <summary>
/// The real haproxy runs a generated configuration on loopback; local TCP listeners stand in for the gateways' node
/// ports on two "nodes" (127.0.0.2 and 127.0.0.3). Bytes, including a TLS ClientHello with SNI, must arrive unchanged
/// at the right backend for each peer and port, and a dead node must be detected by the health check.
/// </summary>
public sealed class HaproxyEndToEndTests : IDisposable
{
    private readonly List<Backend> _backends = new();
    private Process? _haproxy;
    private readonly StringBuilder _haproxyLog = new();

    private sealed class Backend : IDisposable
    {
        private readonly TcpListener _listener;
        private readonly CancellationTokenSource _stop = new();
        public readonly List<byte[]> Received = new();
        public string Node { get; }
        public int Port { get; }

        public Backend(string node, int port)
        {
            Node = node;
            Port = port;
            _listener = new TcpListener(IPAddress.Parse(node), port);
            _listener.Start();
            _ = Task.Run(Accept);
        }

        private async Task Accept()
        {
            while (!_stop.IsCancellationRequested)
            {
                TcpClient client;
                try { client = await _listener.AcceptTcpClientAsync(_stop.Token); }
                catch { return; }
                _ = Task.Run(async () =>
                {
                    using (client)
                    {
                        var buffer = new MemoryStream();
                        var chunk = new byte[4096];
                        var stream = client.GetStream();
                        try
                        {
                            int n;
                            while ((n = await stream.ReadAsync(chunk, _stop.Token)) > 0) buffer.Write(chunk, 0, n);
                        }
                        catch (IOException) { }
                        catch (OperationCanceledException) { }
                        // Health checks connect and close without data; only connections that carried bytes count.
                        if (buffer.Length > 0) lock (Received) Received.Add(buffer.ToArray());
                    }
                });
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }
    }

    private static int FreeBase()
    {
        // Find a block of node ports free on all three loopback addresses used here.
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var start = 30000 + Random.Shared.Next(0, 2500) * 1;
            if (Enumerable.Range(start, 8).All(p => new[] { "127.0.0.1", "127.0.0.2", "127.0.0.3" }.All(a => IsFree(a, p)))) return start;
        }
        throw new InvalidOperationException("no free port block on loopback");
    }

    private static bool IsFree(string address, int port)
    {
        try
        {
            var l = new TcpListener(IPAddress.Parse(address), port);
            l.Start();
            l.Stop();
            return true;
        }
        catch (SocketException) { return false; }
    }

    private FederationProxyConfig StartFederation(out List<MeshPeering> peers)
    {
        var start = FreeBase();
        MeshControlPlane Mesh(string n, int b) => Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = n, GatewayExposure = GatewayExposure.NodePort, NodeAddresses = new[] { "127.0.0.2", "127.0.0.3" }, NodePortBase = b,
        }).Single();
        peers = Factory.Peerings(new[] { Mesh("mesh1", start), Mesh("mesh2", start + 2) }).ToList();
        var proxy = ProxyBuilder.Build(peers, new ProxyOptions { ProxyHost = "127.0.0.1", HealthCheckIntervalMs = 200, HealthCheckFall = 2, HealthCheckRise = 1 });
        foreach (var m in proxy.PortMap)
            foreach (var node in m.Backends)
                _backends.Add(new Backend(node, m.NodePort));

        var dir = Paths.TempDir();
        var cfg = Path.Combine(dir, "federation.cfg");
        File.WriteAllText(cfg, proxy.HaproxyConfig);
        Assert.Equal(0, ExternalTools.Run("haproxy", $"-c -f {cfg}").Code);
        var psi = new ProcessStartInfo(ExternalTools.Require("haproxy"), $"-db -f {cfg}") { RedirectStandardError = true, RedirectStandardOutput = true };
        _haproxy = Process.Start(psi)!;
        _haproxy.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_haproxyLog) _haproxyLog.AppendLine(e.Data); };
        _haproxy.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_haproxyLog) _haproxyLog.AppendLine(e.Data); };
        _haproxy.BeginErrorReadLine();
        _haproxy.BeginOutputReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(10);
        foreach (var m in proxy.PortMap)
            while (!CanConnect(m.FrontendAddress, m.FrontendPort))
            {
                Assert.False(_haproxy.HasExited, "haproxy exited: " + Log());
                Assert.True(DateTime.UtcNow < deadline, "haproxy did not listen: " + Log());
                Thread.Sleep(50);
            }
        return proxy;
    }

    private string Log() { lock (_haproxyLog) return _haproxyLog.ToString(); }

    private static bool CanConnect(string host, int port)
    {
        try
        {
            using var c = new TcpClient();
            c.Connect(host, port);
            return true;
        }
        catch (SocketException) { return false; }
    }

    private static void Send(string host, int port, byte[] payload)
    {
        using var c = new TcpClient();
        c.Connect(host, port);
        var stream = c.GetStream();
        stream.Write(payload);
        c.Client.Shutdown(SocketShutdown.Send);
        var buf = new byte[16];
        try { while (stream.Read(buf) > 0) { } } catch (IOException) { }
    }

    private List<byte[]> ReceivedOn(int port)
    {
        var result = new List<byte[]>();
        foreach (var b in _backends.Where(b => b.Port == port)) lock (b.Received) result.AddRange(b.Received);
        return result;
    }

    private static void WaitFor(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            Thread.Sleep(50);
        }
    }

    /// <summary>A TLS 1.2/1.3 ClientHello record with a server_name extension, byte for byte.</summary>
    internal static byte[] ClientHello(string sni)
    {
        var host = Encoding.ASCII.GetBytes(sni);
        var serverName = new List<byte> { 0x00, 0x00 }; // extension type server_name
        var list = new List<byte> { 0x00 };             // name type host_name
        list.AddRange(new[] { (byte)(host.Length >> 8), (byte)host.Length });
        list.AddRange(host);
        var ext = new List<byte> { (byte)(list.Count >> 8), (byte)list.Count };
        ext.AddRange(list);
        serverName.AddRange(new[] { (byte)(ext.Count >> 8), (byte)ext.Count });
        serverName.AddRange(ext);
        var body = new List<byte> { 0x03, 0x03 };       // client_version TLS 1.2
        body.AddRange(Enumerable.Range(0, 32).Select(i => (byte)(i * 7)));
        body.Add(0x00);                                 // session id
        body.AddRange(new byte[] { 0x00, 0x04, 0x13, 0x01, 0xc0, 0x2f }); // cipher suites
        body.AddRange(new byte[] { 0x01, 0x00 });       // compression: null
        body.AddRange(new[] { (byte)(serverName.Count >> 8), (byte)serverName.Count });
        body.AddRange(serverName);
        var handshake = new List<byte> { 0x01, 0x00, (byte)(body.Count >> 8), (byte)body.Count };
        handshake.AddRange(body);
        var record = new List<byte> { 0x16, 0x03, 0x01, (byte)(handshake.Count >> 8), (byte)handshake.Count };
        record.AddRange(handshake);
        return record.ToArray();
    }

    /// <summary>Reads the SNI back out of a ClientHello, as a gateway in sni-dnat mode would.</summary>
    internal static string? Sni(byte[] record)
    {
        if (record.Length < 5 || record[0] != 0x16 || record[5] != 0x01) return null;
        var i = 5 + 4 + 2 + 32;
        i += 1 + record[i];
        i += 2 + ((record[i] << 8) | record[i + 1]);
        i += 1 + record[i];
        var end = i + 2 + ((record[i] << 8) | record[i + 1]);
        i += 2;
        while (i + 4 <= end)
        {
            var type = (record[i] << 8) | record[i + 1];
            var len = (record[i + 2] << 8) | record[i + 3];
            if (type == 0) return Encoding.ASCII.GetString(record, i + 9, (record[i + 7] << 8) | record[i + 8]);
            i += 4 + len;
        }
        return null;
    }

    [Fact]
    public void Bytes_and_a_TLS_ClientHello_with_SNI_arrive_unchanged_at_the_right_backend_for_each_peer_and_port()
    {
        var proxy = StartFederation(out _);
        Assert.Equal(4, proxy.PortMap.Count);
        foreach (var m in proxy.PortMap)
        {
            var plain = Encoding.ASCII.GetBytes($"GET /v1/services/{m.PeerMesh} HTTP/1.1\r\nHost: {m.TargetMesh}\r\n\r\n");
            var hello = ClientHello($"outbound_.15443_._.ratings.bookinfo.svc.{m.PeerMesh}-exports.local");
            Send(m.FrontendAddress, m.FrontendPort, plain);
            Send(m.FrontendAddress, m.FrontendPort, hello);
            WaitFor(() => ReceivedOn(m.NodePort).Count >= 2, $"bytes at node port {m.NodePort}");
            var got = ReceivedOn(m.NodePort);
            Assert.Contains(got, g => g.SequenceEqual(plain));
            var tls = Assert.Single(got, g => g.SequenceEqual(hello));
            Assert.Equal($"outbound_.15443_._.ratings.bookinfo.svc.{m.PeerMesh}-exports.local", Sni(tls));
        }
        // Nothing leaked to another mapping's backends: each node port got exactly its own two connections.
        foreach (var m in proxy.PortMap) Assert.Equal(2, ReceivedOn(m.NodePort).Count);
    }

    [Fact]
    public void A_dead_backend_is_detected_by_the_health_check_and_traffic_goes_to_the_live_node()
    {
        var proxy = StartFederation(out _);
        var m = proxy.PortMap.First(p => p.Kind == FederationPortKind.Service);
        var dead = _backends.Single(b => b.Port == m.NodePort && b.Node == "127.0.0.3");
        dead.Dispose();
        WaitFor(() => Log().Contains($"{m.SectionName}/{m.TargetMesh}-node2 is DOWN", StringComparison.Ordinal), "haproxy to mark the dead node DOWN");
        var live = _backends.Single(b => b.Port == m.NodePort && b.Node == "127.0.0.2");
        int before;
        lock (live.Received) before = live.Received.Count;
        for (var i = 0; i < 6; i++) Send(m.FrontendAddress, m.FrontendPort, Encoding.ASCII.GetBytes($"request {i}"));
        WaitFor(() => { lock (live.Received) return live.Received.Count - before == 6; }, "all requests at the live node");
    }

    public void Dispose()
    {
        if (_haproxy is { HasExited: false })
        {
            _haproxy.Kill(entireProcessTree: true);
            _haproxy.WaitForExit(5000);
        }
        _haproxy?.Dispose();
        foreach (var b in _backends) b.Dispose();
    }
}
