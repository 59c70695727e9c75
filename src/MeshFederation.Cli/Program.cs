namespace MeshFederation.Cli;

internal static class Program
{
    private static int Main(string[] args) => MeshfedApp.Run(args, Console.Out, Console.Error);
}
