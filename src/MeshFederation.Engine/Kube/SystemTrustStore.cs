using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;

namespace MeshFederation.Engine.Kube;

/// <summary>
/// The machine's trust store and a short-lived CLI process. On Linux, .NET loads the whole machine trust store (every
/// certificate of the CA bundle and of /etc/ssl/certs, parsed by OpenSSL: ~600 certificates on Debian) the first time
/// the process builds any X.509 chain, whatever the chain's trust mode: a chain built against the kubeconfig's CA only
/// (<c>CustomRootTrust</c>, what <see cref="KubeClient"/> does) loads it too, to look for intermediates there. In a cold
/// <c>meshfed apply</c> that load was the largest single cost (~70 ms of CPU on an idle core, 150–200 ms on this shared
/// machine), paid for certificates that can decide nothing: a context that names its CA trusts that CA only, as
/// kubectl does (client-go builds its root pool from the kubeconfig's CA alone and looks for no intermediates on the
/// machine). Two ways out, chosen once per process before its first connection (<see cref="Prepare"/>):
/// <list type="bullet">
/// <item>Every context the process will use names its CA (or skips verification) and reaches its server without a
/// proxy: the process's machine trust store is made empty (<c>SSL_CERT_FILE</c> and <c>SSL_CERT_DIR</c> set to
/// /dev/null in the native environment, which is where .NET's OpenSSL layer reads them), so nothing is loaded. Validation
/// is unchanged: the chain must end at the kubeconfig's CA, with serverAuth usage, and the name must match. The
/// managed environment that child processes (exec credential plugins) inherit is not changed.</item>
/// <item>Otherwise (a context trusts the machine's roots, or a proxy is used): the store is loaded at once on a
/// background thread, while the main thread goes on, so the first handshake finds it loaded.</item>
/// </list>
/// Values a user set for SSL_CERT_FILE or SSL_CERT_DIR are replaced in the first case only, where they cannot matter (they
/// name machine roots, which a context with its own CA does not use; kubectl ignores them there too). Only on Linux;
/// elsewhere nothing is done.
/// </summary>
public static class SystemTrustStore
{
    private const string FileVariable = "SSL_CERT_FILE";
    private const string DirectoryVariable = "SSL_CERT_DIR";
    private static int _decided;
    private static volatile bool _pinned;
    private static volatile bool _enabled;

    /// <summary>
    /// Lets <see cref="Prepare"/> act in this process: called by meshfed's entry point only, whose process is its own
    /// (a host that runs meshfed's commands in-process, such as the tests, keeps its environment and store as they are).
    /// </summary>
    public static void EnableForThisProcess() => _enabled = true;

    /// <summary>True once this process trusts only its kubeconfigs' CAs (the machine store was made empty).</summary>
    public static bool PinnedToKubeconfigCas => _pinned;

    /// <summary>
    /// Chooses, once per process and before its first connection, between not loading the machine trust store (every
    /// one of <paramref name="contexts"/> names its CA) and loading it on a background thread now. Null contexts (they
    /// could not all be resolved) load it in the background. Returns what was done, for the timing trace.
    /// </summary>
    public static string Prepare(IReadOnlyCollection<KubeContext>? contexts)
    {
        if (!_enabled) return "trust store: left as it is (not meshfed's own process)";
        if (!OperatingSystem.IsLinux()) return "trust store: not Linux, nothing to do";
        if (Interlocked.Exchange(ref _decided, 1) == 1) return "trust store: already decided";
        var why = contexts is null ? "the contexts could not all be resolved"
            : contexts.Count == 0 ? "no contexts"
            : contexts.FirstOrDefault(c => c.CertificateAuthorityPem is null && !c.InsecureSkipTlsVerify) is { } open ? $"context '{open.Name}' trusts the machine's roots"
            : contexts.FirstOrDefault(c => c.ProxyUrl is not null) is { } proxied ? $"context '{proxied.Name}' uses a proxy"
            : null;
        if (why is null)
        {
            // The managed environment (what Process.Start gives exec plugins) was read from the native one when this
            // process started; reading it here makes sure it is cached before the native one changes.
            _ = Environment.GetEnvironmentVariable("PATH");
            if (Native.setenv(FileVariable, "/dev/null", 1) == 0 && Native.setenv(DirectoryVariable, "/dev/null", 1) == 0)
            {
                _pinned = true;
                return "trust store: every context names its CA, the machine trust store is not loaded";
            }
            why = "the environment could not be set";
        }
        var thread = new Thread(Load) { IsBackground = true, Name = "meshfed trust store" };
        thread.Start();
        return $"trust store: loading the machine trust store in the background ({why})";
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
            // The first handshake loads the store itself and reports what is wrong.
        }
    }

    private static class Native
    {
        [DllImport("libc", SetLastError = true, CharSet = CharSet.Ansi, BestFitMapping = false, ThrowOnUnmappableChar = true)]
        public static extern int setenv(string name, string value, int overwrite);
    }
}
