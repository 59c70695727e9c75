namespace MeshFederation.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        // Commands that talk to clusters: the machine trust store (loaded by the first TLS handshake) is loaded on the
        // second core while this thread parses the command line and loads the topology (docs/performance.md, apply).
        if (args.Length > 0 && (args[0] is "apply" or "plan" or "delete" or "discover" or "remote-secret" || (args[0] == "check" && args.Contains("--live"))))
            Engine.Kube.TrustStoreWarmup.Start();
        using var interrupts = Interrupts.ForProcess();
        return MeshfedApp.Run(args, Console.Out, Console.Error, interrupts);
    }
}
