namespace MeshFederation.Engine.Validation;

/// <summary>POSIX shell quoting for the command lines the tool prints (firewall-cmd, kubectl, istioctl).</summary>
public static class Shell
{
    /// <summary>
    /// The word as a POSIX shell reads it back unchanged: left bare when it holds only characters no shell treats
    /// specially, otherwise single-quoted (a single quote inside becomes '\'').
    /// </summary>
    public static string Quote(string word)
    {
        ArgumentNullException.ThrowIfNull(word);
        if (word.Length > 0 && word.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/' or ':' or '=' or '@' or '%' or '+' or ','))
            return word;
        return "'" + word.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
    }
}
