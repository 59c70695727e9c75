using System.Globalization;
using System.Management.Automation;
using System.Text.RegularExpressions;

namespace MeshFederation.Infrastructure;

/// <summary>
/// Durations as PowerShell users write them: a [TimeSpan] (New-TimeSpan -Minutes 10), a string with a unit (500ms, 30s,
/// 10m, 2h, 365d) or a TimeSpan string (00:10:00, 1.00:00:00). Unquoted, 30s and 365d are PowerShell number literals
/// (30 as a [short], 365 as a [decimal]); those two types are read as the unit they spell. Any other bare number is
/// refused with the forms to use, since PowerShell would otherwise read 600 as 600 ticks.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed partial class TimeSpanArgumentAttribute : ArgumentTransformationAttribute
{
    public override object Transform(EngineIntrinsics engineIntrinsics, object inputData)
    {
        var value = inputData is PSObject ps ? ps.BaseObject : inputData;
        switch (value)
        {
            case TimeSpan t:
                return t;
            case short seconds: // 30s: the s suffix of a PowerShell literal makes a [short]
                return TimeSpan.FromSeconds(seconds);
            case decimal days: // 365d: the d suffix makes a [decimal]
                return TimeSpan.FromDays((double)days);
            case string s when Unit().Match(s) is { Success: true } m:
                var n = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
                return m.Groups["u"].Value.ToLowerInvariant() switch
                {
                    "ms" => TimeSpan.FromMilliseconds(n),
                    "s" => TimeSpan.FromSeconds(n),
                    "m" => TimeSpan.FromMinutes(n),
                    "h" => TimeSpan.FromHours(n),
                    _ => TimeSpan.FromDays(n),
                };
            case string s when s.Contains(':', StringComparison.Ordinal) && TimeSpan.TryParse(s, CultureInfo.InvariantCulture, out var parsed):
                return parsed;
            default:
                var text = Convert.ToString(value, CultureInfo.InvariantCulture);
                throw new ArgumentTransformationMetadataException(
                    $"'{text}' is not a duration: give a unit ({text}s, {text}m, {text}h or {text}d), a TimeSpan string (00:10:00) or a [TimeSpan] (New-TimeSpan -Minutes 10).");
        }
    }

    /// <summary>A duration as Istio and Go write it: 500ms, 5s, 1m, 2h (the largest unit that divides it).</summary>
    public static string ToGoDuration(TimeSpan t)
    {
        if (t.Ticks % TimeSpan.TicksPerHour == 0) return string.Create(CultureInfo.InvariantCulture, $"{(long)t.TotalHours}h");
        if (t.Ticks % TimeSpan.TicksPerMinute == 0) return string.Create(CultureInfo.InvariantCulture, $"{(long)t.TotalMinutes}m");
        if (t.Ticks % TimeSpan.TicksPerSecond == 0) return string.Create(CultureInfo.InvariantCulture, $"{(long)t.TotalSeconds}s");
        return string.Create(CultureInfo.InvariantCulture, $"{(long)t.TotalMilliseconds}ms");
    }

    [GeneratedRegex(@"^\s*(?<n>\d+(\.\d+)?)\s*(?<u>ms|s|m|h|d)\s*$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex Unit();
}
