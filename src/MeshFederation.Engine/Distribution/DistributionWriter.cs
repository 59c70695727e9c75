using MeshFederation.Engine.IO;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Distribution;

/// <summary>
/// Writes a distribution: the tree into its folder and the Secrets holding keys or tokens into a separate folder
/// outside it (every file 0600, the folder 0700). Both go through <see cref="OutputFolder"/> (all or nothing, never over
/// foreign files); both are checked before either is written.
/// </summary>
public static class DistributionWriter
{
    /// <summary>The default secrets folder: a sibling of the tree named &lt;tree&gt;.secrets.</summary>
    public static string DefaultSecretsDirectory(string directory) =>
        Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar) + ".secrets";

    /// <summary>Refuses a secrets folder inside the tree (or a tree inside it): the keys would end up committed.</summary>
    public static void CheckSeparate(string directory, string secretsDirectory, string secretsField)
    {
        var tree = Path.GetFullPath(directory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        var secrets = Path.GetFullPath(secretsDirectory).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
        if (secrets.StartsWith(tree, StringComparison.Ordinal) || tree.StartsWith(secrets, StringComparison.Ordinal))
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, secretsField, secretsDirectory,
                "is inside the GitOps tree (or holds it): Secrets with keys or tokens would be committed",
                $"give a folder outside {directory}, e.g. {DefaultSecretsDirectory(directory)}"));
    }

    public static OutputFolderOptions SecretsOptions(OutputFolderOptions options, DistributionOutput output, string secretsField) => options with
    {
        Field = secretsField,
        PrivateFiles = output.SecretFiles.Keys.ToHashSet(StringComparer.Ordinal),
    };

    /// <summary>Checks both folders without writing.</summary>
    public static void Check(string directory, string secretsDirectory, DistributionOutput output, OutputFolderOptions options, string secretsField)
    {
        if (output.SecretFiles.Count > 0) CheckSeparate(directory, secretsDirectory, secretsField);
        OutputFolder.Check(directory, output.Files, options);
        if (output.SecretFiles.Count > 0) OutputFolder.Check(secretsDirectory, output.SecretFiles, SecretsOptions(options, output, secretsField));
    }

    /// <summary>Writes the secrets folder (when there are Secrets), then the tree.</summary>
    public static (OutputFolderResult Tree, OutputFolderResult? Secrets) Write(string directory, string secretsDirectory, DistributionOutput output, OutputFolderOptions options, string secretsField)
    {
        Check(directory, secretsDirectory, output, options, secretsField);
        OutputFolderResult? secrets = null;
        if (output.SecretFiles.Count > 0)
        {
            secrets = OutputFolder.Write(secretsDirectory, output.SecretFiles, SecretsOptions(options, output, secretsField));
            if (!OperatingSystem.IsWindows()) File.SetUnixFileMode(secretsDirectory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
        return (OutputFolder.Write(directory, output.Files, options), secrets);
    }
}
