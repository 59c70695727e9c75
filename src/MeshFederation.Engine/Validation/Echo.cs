using System.Globalization;
using System.Text;

namespace MeshFederation.Engine.Validation;

/// <summary>
/// Makes input safe to echo in messages: at most <see cref="MaxValueLength"/> characters of a value (a 10 MB value is not
/// printed whole), and control characters (newlines, terminal escape sequences) shown escaped rather than acted on.
/// </summary>
public static class Echo
{
    public const int MaxValueLength = 200;

    /// <summary>Field names are built from input too (a mesh's name in "mesh 'x'.trustDomain").</summary>
    public const int MaxFieldLength = 300;

    public const int MaxTextLength = 1000;

    public static string? Value(string? value) => value is null ? null : Clip(value, MaxValueLength);

    public static string Field(string field) => Clip(field ?? "", MaxFieldLength);

    public static string Text(string text) => Clip(text ?? "", MaxTextLength);

    private static string Clip(string value, int max)
    {
        var needsWork = value.Length > max;
        foreach (var c in value)
            if (char.IsControl(c) || c is '\u2028' or '\u2029') { needsWork = true; break; }
        if (!needsWork) return value;
        var sb = new StringBuilder(Math.Min(value.Length, max) + 40);
        var shown = 0;
        foreach (var c in value)
        {
            if (shown >= max) break;
            var piece = c switch
            {
                '\n' => "\\n",
                '\r' => "\\r",
                '\t' => "\\t",
                _ when char.IsControl(c) || c is '\u2028' or '\u2029' => "\\u" + ((int)c).ToString("x4", CultureInfo.InvariantCulture),
                _ => c.ToString(),
            };
            sb.Append(piece);
            shown++;
        }
        if (value.Length > max)
            sb.Append(CultureInfo.InvariantCulture, $"… ({value.Length:N0} characters, {value.Length - max:N0} not shown)");
        return sb.ToString();
    }
}
