using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.TestKube;

namespace MeshFederation.Tests;

/// <summary>
/// Issue 17: checks through an OCM hub. The ManifestWorks of render --format ocm are applied to the test API server
/// with the real kubectl; their status is written as a work agent writes it (kubectl patch --subresource=status); then
/// meshfed check --ocm-hub judges only what the status feedback says.
/// </summary>
public sealed class OcmHubCheckTests : IAsyncLifetime
{
    private const string Work = "meshfed-seed-002-bookinfo-split";
    private readonly TestPki _pki = new();
    private FakeApiServer _hub = null!;
    private string _kubeconfig = "";
    private string _topology = "";

    public async Task InitializeAsync()
    {
        _hub = new FakeApiServer("hub", _pki);
        _hub.Tokens["admin-token"] = "admin";
        await _hub.StartAsync();
        _kubeconfig = Path.Combine(Paths.TempDir(), "kubeconfig");
        File.WriteAllText(_kubeconfig, _hub.Kubeconfig("hub", token: "admin-token"));
        _topology = Paths.Example("seed-002-bookinfo-split.yaml");
    }

    public async Task DisposeAsync()
    {
        await _hub.DisposeAsync();
        _pki.Dispose();
    }

    private (int Code, string Output) Kubectl(string args) => ExternalTools.Run("kubectl", $"--kubeconfig {_kubeconfig} {args}");

    private void ApplyWorks()
    {
        var dir = Path.Combine(Paths.TempDir(), "ocm");
        var (code, stdout, stderr) = BadInputTests.Cli("render", _topology, "-o", dir, "--format", "ocm");
        Assert.True(code == 0, stdout + stderr);
        foreach (var ns in new[] { "managedcluster1", "managedcluster2" }) Assert.Equal(0, Kubectl($"create namespace {ns}").Code);
        var applied = Kubectl($"apply --server-side --validate=strict -k {dir}");
        Assert.True(applied.Code == 0, applied.Output);
    }

    private static JsonObject Condition(string type, string status, string reason, string message = "") => new()
    {
        ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message, ["lastTransitionTime"] = "2026-11-30T10:00:00Z",
    };

    private static JsonObject Manifest(int ordinal, string group, string kind, string resource, string ns, string name, params (string Name, JsonObject Value)[] feedback)
    {
        var m = new JsonObject
        {
            ["resourceMeta"] = new JsonObject { ["ordinal"] = ordinal, ["group"] = group, ["version"] = "v1", ["kind"] = kind, ["resource"] = resource, ["name"] = name, ["namespace"] = ns },
            ["conditions"] = new JsonArray(Condition("Applied", "True", "AppliedManifestComplete"), Condition("Available", "True", "ResourceAvailable")),
        };
        if (feedback.Length > 0)
            m["statusFeedback"] = new JsonObject { ["values"] = new JsonArray(feedback.Select(f => (JsonNode?)new JsonObject { ["name"] = f.Name, ["fieldValue"] = f.Value }).ToArray()) };
        return m;
    }

    private static JsonObject S(string v) => new() { ["type"] = "String", ["string"] = v };

    private static JsonObject B(bool v) => new() { ["type"] = "Boolean", ["boolean"] = v };

    private static JsonObject Raw(JsonNode v) => new() { ["type"] = "JsonRaw", ["jsonRaw"] = v.ToJsonString() };

    /// <summary>Writes a work's status as the work agent does (status subresource), with kubectl.</summary>
    private void SetStatus(string cluster, JsonObject status)
    {
        var patch = Path.Combine(Paths.TempDir(), "status.json");
        File.WriteAllText(patch, new JsonObject { ["status"] = status }.ToJsonString());
        var r = Kubectl($"-n {cluster} patch manifestwork {Work} --subresource=status --type=merge --patch-file {patch}");
        Assert.True(r.Code == 0, r.Output);
    }

    private List<JsonObject> Check(out int code)
    {
        var (c, stdout, stderr) = BadInputTests.Cli("check", _topology, "--ocm-hub", "hub", "--kubeconfig", _kubeconfig, "--output", "json", "--as-of", "2026-11-30T10:05:00Z");
        code = c;
        Assert.True(stdout.TrimStart().StartsWith('['), stdout + stderr);
        return JsonNode.Parse(stdout)!.AsArray().Select(n => n!.AsObject()).ToList();
    }

    private static string StatusOf(List<JsonObject> results, string id, string mesh) =>
        results.Single(r => r["CheckId"]!.GetValue<string>() == id && r["Mesh"]!.GetValue<string>() == mesh)["Status"]!.GetValue<string>();

    [Fact]
    public void Hub_checks_judge_the_status_feedback_and_skip_what_it_does_not_carry()
    {
        ApplyWorks();
        // Before any work agent reported: not applied, and nothing else is judged as passed.
        var before = Check(out var code);
        Assert.Equal(MeshfedApp.ExitCheckFailed, code);
        Assert.Equal(2, before.Count(r => r["CheckId"]!.GetValue<string>() == "OCM.WorkApplied" && r["Status"]!.GetValue<string>() == "Fail"));
        Assert.DoesNotContain(before, r => r["Status"]!.GetValue<string>() == "Pass");

        // managedcluster1: healthy, the whole discovery status fed back (RawFeedbackJsonString).
        var discovery = new JsonObject
        {
            ["active"] = new JsonArray(new JsonObject
            {
                ["pod"] = "istiod-managedcluster1-mesh-7d9f",
                ["watch"] = new JsonObject { ["connected"] = true, ["lastConnected"] = "2026-11-30T09:00:00Z", ["lastFullSync"] = "2026-11-30T10:04:30Z" },
                ["remotes"] = new JsonArray(new JsonObject { ["connected"] = true, ["source"] = "10.0.0.5", ["lastFullSync"] = "2026-11-30T10:04:40Z" }),
            }),
        };
        SetStatus("managedcluster1", new JsonObject
        {
            ["conditions"] = new JsonArray(Condition("Applied", "True", "AppliedManifestWorkComplete"), Condition("Available", "True", "ResourcesAvailable")),
            ["resourceStatus"] = new JsonObject
            {
                ["manifests"] = new JsonArray(
                    Manifest(1, "maistra.io", "ServiceMeshControlPlane", "servicemeshcontrolplanes", "mesh-system", "managedcluster1-mesh",
                        ("ready", S("True")), ("readyReason", S("ComponentsReady")), ("readyComponents", S("9/9"))),
                    Manifest(3, "federation.maistra.io", "ServiceMeshPeer", "servicemeshpeers", "mesh-system", "managedcluster2-mesh", ("discoveryStatus", Raw(discovery)))),
            },
        });
        // managedcluster2: applied, but the control plane is not ready and the first pod's watch is down (scalar feedback only).
        SetStatus("managedcluster2", new JsonObject
        {
            ["conditions"] = new JsonArray(Condition("Applied", "True", "AppliedManifestWorkComplete"), Condition("Available", "True", "ResourcesAvailable")),
            ["resourceStatus"] = new JsonObject
            {
                ["manifests"] = new JsonArray(
                    Manifest(1, "maistra.io", "ServiceMeshControlPlane", "servicemeshcontrolplanes", "mesh-system", "managedcluster2-mesh",
                        ("ready", S("False")), ("readyReason", S("ComponentsNotReady")), ("readyMessage", S("istiod is not ready"))),
                    Manifest(3, "federation.maistra.io", "ServiceMeshPeer", "servicemeshpeers", "mesh-system", "managedcluster1-mesh",
                        ("activePod", S("istiod-managedcluster2-mesh-5c4b")), ("watchConnected", B(false)), ("lastFullSync", S("2026-11-30T10:03:00Z")))),
            },
        });

        var results = Check(out code);
        Assert.Equal(MeshfedApp.ExitCheckFailed, code);
        Assert.Equal("Pass", StatusOf(results, "OCM.WorkApplied", "managedcluster1-mesh"));
        Assert.Equal("Pass", StatusOf(results, "OCM.WorkApplied", "managedcluster2-mesh"));
        Assert.Equal("Pass", StatusOf(results, "OSSM2.ControlPlaneReady", "managedcluster1-mesh"));
        Assert.Equal("Fail", StatusOf(results, "OSSM2.ControlPlaneReady", "managedcluster2-mesh"));
        Assert.Contains("ComponentsNotReady", results.Single(r => r["CheckId"]!.GetValue<string>() == "OSSM2.ControlPlaneReady" && r["Mesh"]!.GetValue<string>() == "managedcluster2-mesh")["Message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("Pass", StatusOf(results, "OSSM2.PeerConnected", "managedcluster1-mesh"));
        var down = results.Single(r => r["CheckId"]!.GetValue<string>() == "OSSM2.PeerConnected" && r["Mesh"]!.GetValue<string>() == "managedcluster2-mesh");
        Assert.Equal("Fail", down["Status"]!.GetValue<string>());
        Assert.Contains(down["Evidence"]!.AsArray(), e => e!.ToJsonString().Contains("first istiod pod only", StringComparison.Ordinal));
        Assert.Contains(down["Evidence"]!.AsArray(), e => e!.ToJsonString().Contains("status feedback on hub hub", StringComparison.Ordinal));
        Assert.Equal("Pass", StatusOf(results, "OSSM2.PeerSyncAge", "managedcluster1-mesh"));
        // Exports and imports were not fed back: Skip with the reason, never Pass; checks the hub cannot see are not reported.
        Assert.Contains(results, r => r["CheckId"]!.GetValue<string>() is "OSSM2.ExportActive" or "OSSM2.ImportResolved" && r["Status"]!.GetValue<string>() == "Skip"
            && r["Message"]!.GetValue<string>().Contains("RawFeedbackJsonString", StringComparison.Ordinal));
        Assert.DoesNotContain(results, r => r["CheckId"]!.GetValue<string>() is "OSSM2.IngressAddress" or "OSSM2.PeerRootCert" or "OSSM2.TrustDomainUnique");

        // A work the agent could not apply: Fail with the agent's reason.
        SetStatus("managedcluster1", new JsonObject
        {
            ["conditions"] = new JsonArray(Condition("Applied", "False", "AppliedManifestWorkFailed", "Failed to apply manifest: conflict with \"kubectl\"")),
        });
        results = Check(out code);
        var failed = results.Single(r => r["CheckId"]!.GetValue<string>() == "OCM.WorkApplied" && r["Mesh"]!.GetValue<string>() == "managedcluster1-mesh");
        Assert.Equal("Fail", failed["Status"]!.GetValue<string>());
        Assert.Contains("conflict", failed["Message"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_context_that_is_not_a_hub_fails_with_the_reason_and_a_missing_work_fails()
    {
        _hub.HiddenGroups.Add("work.open-cluster-management.io");
        var results = Check(out var code);
        Assert.Equal(MeshfedApp.ExitCheckFailed, code);
        var r = Assert.Single(results);
        Assert.Equal("OCM.Hub", r["CheckId"]!.GetValue<string>());
        Assert.Equal("Fail", r["Status"]!.GetValue<string>());
        _hub.HiddenGroups.Clear();

        results = Check(out code);
        Assert.Equal(MeshfedApp.ExitCheckFailed, code);
        Assert.Equal(2, results.Count(x => x["CheckId"]!.GetValue<string>() == "OCM.WorkApplied" && x["Status"]!.GetValue<string>() == "Fail"
            && x["Message"]!.GetValue<string>().StartsWith("no ManifestWork", StringComparison.Ordinal)));

        var (badCode, _, stderr) = BadInputTests.Cli("check", _topology, "--ocm-hub", "hub", "--live");
        Assert.Equal(MeshfedApp.ExitBadInput, badCode);
        Assert.Contains("--ocm-hub", stderr, StringComparison.Ordinal);
    }
}
