namespace MeshFederation.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Engine.Kube.SystemTrustStore.EnableForThisProcess();
        using var interrupts = Interrupts.ForProcess();
        return MeshfedApp.Run(args, Console.Out, Console.Error, interrupts);
    }
}
