using System.Management.Automation;

namespace MeshFederation.Infrastructure;

/// <summary>
/// Export-MeshService and Import-MeshService take either the peering (or control plane) from the pipeline, or it
/// given on the command line and rows from the pipeline (Import-Csv services.csv | Export-MeshService -Peering $p),
/// whose properties bind by name. When the peering itself is piped, values PowerShell bound from its properties (its
/// Name is the peer's name) are not the user's: only command-line values count then.
/// </summary>
internal sealed class ServiceRows
{
    private readonly HashSet<string> _commandLine;
    private readonly bool _rows;

    public ServiceRows(PSCmdlet cmdlet, params string[] targets)
    {
        _commandLine = new HashSet<string>(cmdlet.MyInvocation.BoundParameters.Keys, StringComparer.OrdinalIgnoreCase);
        _rows = targets.Any(_commandLine.Contains);
    }

    /// <summary>The parameter was given on the command line, or comes from a pipeline row.</summary>
    public bool Given(string parameter) => _rows || _commandLine.Contains(parameter);

    /// <summary>A value the user gave (blank cells of a CSV row are not given).</summary>
    public string? Value(string parameter, string? value) => Given(parameter) && !string.IsNullOrWhiteSpace(value) ? value : null;

    public string[]? Values(string parameter, string[]? values)
    {
        var given = Given(parameter) ? values?.Where(v => !string.IsNullOrWhiteSpace(v)).ToArray() : null;
        return given is { Length: > 0 } ? given : null;
    }

    public static ErrorRecord MissingNamespace(object? target) =>
        new(new ArgumentException("Namespace is required"), ErrorIds.InvalidArgument, ErrorCategory.InvalidArgument, target)
        {
            ErrorDetails = new ErrorDetails("Namespace: the service's namespace is required.")
            { RecommendedAction = "give -Namespace <namespace>, or pipe rows with a Namespace property and give -Peering or -ControlPlane" },
        };
}
