using System.Text;

namespace MeshFederation.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Engine.Kube.SystemTrustStore.EnableForThisProcess();
        using var interrupts = Interrupts.ForProcess();
        return MeshfedApp.Run(args, StandardOutput(), Console.Error, interrupts);
    }

    /// <summary>
    /// Standard output as Console.Out writes it (UTF-8 without a byte order mark, every write flushed before the call
    /// returns, safe from several threads) but through a 64 KB buffer: Console.Out hands the kernel 256 bytes at a time,
    /// 60,000 write calls for the 15 MB a check of 200 meshes prints. Other encodings keep Console.Out.
    /// </summary>
    private static TextWriter StandardOutput()
    {
        if (Console.OutputEncoding.CodePage != Encoding.UTF8.CodePage) return Console.Out;
        var writer = new StreamWriter(Console.OpenStandardOutput(), new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16) { AutoFlush = true };
        return TextWriter.Synchronized(writer);
    }
}
