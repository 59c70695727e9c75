using System.Security.Cryptography.X509Certificates;

namespace MeshFederation.Engine.Kube;

/// <summary>
/// On Linux, .NET loads the machine's whole trust store (every certificate in /etc/ssl/certs and the CA bundle, parsed
/// by OpenSSL) the first time a process builds any X.509 chain, whatever the chain's trust mode: building against
/// the kubeconfig's CA only (<c>CustomRootTrust</c>) loads it too, to look up intermediates. In a cold CLI that load is
/// the largest single cost of the first TLS handshake (~100 ms of CPU on one core). It is cached for the process, so a
/// short-lived process that will connect can start it on a background thread at once, while its main thread parses
/// arguments and loads and judges the topology; the first handshake then finds it loaded. Nothing is decided here:
/// validation is unchanged, and a failure is ignored (the handshake loads the store again and reports it).
/// </summary>
public static class TrustStoreWarmup
{
    private static int _started;

    /// <summary>Starts loading the machine trust store on a background thread (once per process; not on Windows or macOS, whose stores are not loaded this way).</summary>
    public static void Start()
    {
        if (!OperatingSystem.IsLinux() || Interlocked.Exchange(ref _started, 1) == 1) return;
        var thread = new Thread(Load) { IsBackground = true, Name = "meshfed trust store warm-up" };
        thread.Start();
    }

    private static void Load()
    {
        try
        {
            using var store = new X509Store(StoreName.Root, StoreLocation.LocalMachine);
            store.Open(OpenFlags.ReadOnly);
            foreach (var c in store.Certificates) c.Dispose();
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or IOException or UnauthorizedAccessException or PlatformNotSupportedException)
        {
            // The handshake loads the store itself and reports what is wrong.
        }
    }
}
