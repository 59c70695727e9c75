using System.Management.Automation;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Topology;
using MeshFederation.Infrastructure;

namespace MeshFederation.Commands;

/// <summary>Test-MeshFederation: runs every federation check over the piped objects (or a topology file) and emits one result per check.</summary>
[Cmdlet(VerbsDiagnostic.Test, "MeshFederation", DefaultParameterSetName = ByObject)]
[OutputType(typeof(MeshCheckResult))]
public sealed class TestMeshFederationCommand : MeshCmdlet
{
    private const string ByObject = "InputObject";
    private const string ByPath = "Path";
    private readonly List<object> _items = new();

    [Parameter(Mandatory = true, ValueFromPipeline = true, ParameterSetName = ByObject)]
    public object[] InputObject { get; set; } = Array.Empty<object>();

    [Parameter(Mandatory = true, Position = 0, ParameterSetName = ByPath)]
    [ValidateNotNullOrEmpty]
    public string Path { get; set; } = "";

    /// <summary>Emit only failures and warnings.</summary>
    [Parameter]
    public SwitchParameter Quiet { get; set; }

    protected override void ProcessRecord()
    {
        foreach (var o in InputObject) _items.Add(o is PSObject ps ? ps.BaseObject : o);
    }

    protected override void EndProcessing()
    {
        var set = new FederationSet();
        if (ParameterSetName == ByPath)
        {
            var path = GetUnresolvedProviderPathFromPSPath(Path);
            if (!Try(() => set = TopologyLoader.LoadFile(path, Yaml), Path)) return;
        }
        else if (!Try(() => { foreach (var o in _items) set.Add(o); }, _items)) return;
        var results = FederationChecks.Run(set);
        foreach (var r in results)
            if (!Quiet.IsPresent || r.Status is CheckStatus.Fail or CheckStatus.Warn) WriteObject(r);
        WriteVerbose($"{results.Count} checks: {results.Count(r => r.Status == CheckStatus.Pass)} passed, {results.Count(r => r.Status == CheckStatus.Fail)} failed, {results.Count(r => r.Status == CheckStatus.Warn)} warnings.");
    }
}
