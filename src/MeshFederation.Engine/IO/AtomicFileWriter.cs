using System.Runtime.InteropServices;

namespace MeshFederation.Engine.IO;

/// <summary>
/// Writes one file so that a reader sees the old content or the new, never half of one. A low-level helper: the tool's
/// outputs go through <see cref="OutputFolder"/>, which also keeps what it did not write and its own inputs untouched.
/// </summary>
public static class AtomicFileWriter
{
    /// <summary>Writes <paramref name="content"/> to a temporary file beside <paramref name="path"/> and renames it over.</summary>
    public static void Write(string path, string content, bool privateFile = false)
    {
        var full = Path.GetFullPath(path);
        var dir = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(dir);
        var temp = Path.Combine(dir, $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        try
        {
            var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Share = FileShare.None };
            if (privateFile && !RuntimeInformation.IsOSPlatform(OSPlatform.Windows))
                options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            using (var stream = new FileStream(temp, options))
            using (var writer = new StreamWriter(stream, new System.Text.UTF8Encoding(false)))
            {
                writer.Write(content);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp)) File.Delete(temp);
        }
    }
}
