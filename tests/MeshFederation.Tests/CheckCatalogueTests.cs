using System.Net;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;

namespace MeshFederation.Tests;

/// <summary>
/// The rule every check follows: no check can Pass without evidence. Every observed and probe check of the catalogue
/// runs on an empty observation (the objects it is about exist, with nothing in them, and everything else is either
/// unreadable or absent); none passes, and each says something. Passing results carry what they observed.
/// </summary>
public class CheckCatalogueTests
{
    /// <summary>
    /// A cluster holding only the bare objects the checks are about (names, nothing else; no two of them refer to each
    /// other); every other read fails or finds nothing. Its remote secret names a cluster that is not observed.
    /// </summary>
    private sealed class EmptyReader : IClusterReader
    {
        private readonly List<JsonObject> _subjects;
        private readonly bool _readable;

        public EmptyReader(string cluster, bool readable, string remoteCluster)
        {
            Cluster = cluster;
            _readable = readable;
            JsonObject Bare(string apiVersion, string kind, string name, string? ns, JsonObject? extra = null)
            {
                var o = new JsonObject { ["apiVersion"] = apiVersion, ["kind"] = kind, ["metadata"] = new JsonObject { ["name"] = name } };
                if (ns is not null) o["metadata"]!["namespace"] = ns;
                foreach (var (k, v) in extra ?? new JsonObject()) o[k] = v!.DeepClone();
                return o;
            }
            _subjects = new List<JsonObject>
            {
                Bare("maistra.io/v2", "ServiceMeshControlPlane", "mesh-" + cluster, "mesh-system"),
                Bare("federation.maistra.io/v1", "ServiceMeshPeer", "peer", "mesh-system"),
                Bare("federation.maistra.io/v1", "ExportedServiceSet", "exports", "mesh-system"),
                Bare("federation.maistra.io/v1", "ImportedServiceSet", "imports", "mesh-system"),
                Bare("sailoperator.io/v1", "Istio", "default", null),
                Bare("sailoperator.io/v1", "IstioCNI", "default", null),
                Bare("v1", "Secret", "istio-remote-secret-" + remoteCluster, "istio-system", new JsonObject { ["data"] = new JsonObject { [remoteCluster] = "" } }),
                Bare("networking.istio.io/v1", "ServiceEntry", "echo-global", "default", new JsonObject { ["spec"] = new JsonObject { ["hosts"] = new JsonArray("echo.default.global") } }),
                Bare("networking.istio.io/v1", "DestinationRule", "helloworld", "sample",
                    new JsonObject { ["spec"] = JsonNode.Parse("""{"trafficPolicy":{"loadBalancer":{"localityLbSetting":{"failover":[{}]}}}}""") }),
            };
            _subjects[6]["metadata"]!["labels"] = new JsonObject { ["istio/multiCluster"] = "true" };
        }

        public string Cluster { get; }

        public string Source => "empty observation";

        public bool IsLive => false;

        public IReadOnlyList<RemoteClusterStatus>? RemoteClusters => null;

        public Task<ReadResult> ListAsync(KindRef kind, string? ns, string? labelSelector, CancellationToken cancellationToken)
        {
            var items = _subjects.Where(o => o["kind"]!.GetValue<string>() == kind.Kind && (ns is null || o["metadata"]?["namespace"]?.GetValue<string>() == ns)).ToList();
            var subjectKind = _subjects.Any(o => o["kind"]!.GetValue<string>() == kind.Kind);
            return Task.FromResult(subjectKind || _readable
                ? ReadResult.Read(items, DateTimeOffset.UtcNow, Source)
                : ReadResult.Failed("nothing could be read in this test", DateTimeOffset.UtcNow, Source));
        }

        public async Task<ReadResult> GetAsync(KindRef kind, string? ns, string name, CancellationToken cancellationToken) =>
            (await ListAsync(kind, ns, null, cancellationToken)).Where(o => o["metadata"]?["name"]?.GetValue<string>() == name);
    }

    /// <summary>Checks that report per item of a spec the bare objects do not have (an importAsLocal rule).</summary>
    private static readonly string[] PerRule = { "OSSM2.ImportAsLocalAlias" };

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task No_check_passes_on_an_empty_observation_and_every_check_says_something(bool readable)
    {
        var observed = await ObservedChecks.ObserveAsync(new IClusterReader[] { new EmptyReader("c1", readable, "c3"), new EmptyReader("c2", readable, "c3") }, CancellationToken.None);
        var results = ObservedChecks.Run(observed, null, new CheckOptions());

        // The network part: a peer address where nothing answers.
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop();
        var smp = JsonNode.Parse("""{"apiVersion":"federation.maistra.io/v1","kind":"ServiceMeshPeer","metadata":{"name":"peer","namespace":"mesh-system"},"spec":{"remote":{"addresses":["127.0.0.1"]}}}""")!.AsObject();
        smp["spec"]!["remote"]!["discoveryPort"] = port;
        smp["spec"]!["remote"]!["servicePort"] = port;
        var mesh = new ObservedMesh { Cluster = "c1", ControlPlane = JsonNode.Parse("""{"metadata":{"name":"mesh","namespace":"mesh-system"}}""")!.AsObject() };
        mesh.Peers.Add(smp);
        var probes = await MeshChecks.ProbeAsync(new[] { mesh }, TimeSpan.FromSeconds(2), CancellationToken.None);

        var all = results.Concat(probes).ToList();
        Assert.All(all, r => Assert.True(r.Status != CheckStatus.Pass, $"passed on an empty observation: {r}"));
        foreach (var check in CheckCatalogue.All.Where(c => c.Mode != CheckMode.Declared && !PerRule.Contains(c.Id)))
            Assert.True(all.Any(r => r.CheckId == check.Id), $"{check} said nothing about an empty observation");
        Assert.All(all.Where(r => r.Status != CheckStatus.Skip), r => Assert.False(string.IsNullOrEmpty(r.Fix), $"{r} has no fix"));
        Assert.All(all, r => Assert.NotEmpty(r.Evidence));
    }

    [Fact]
    public void The_catalogue_names_every_check_the_engine_reports_and_passes_carry_what_they_observed()
    {
        var ids = CheckCatalogue.All.Select(c => c.Id).ToHashSet(StringComparer.Ordinal);
        var offline = TestSupport.LoadExample("seed-001-blue-green.yaml");
        var results = FederationChecks.Run(offline).Concat(FederationChecks.Run(IstioStyleTests.Seed003WithCa().Set))
            .Concat(FederationChecks.Run(TestSupport.LoadExample("seed-004-multi-mesh.yaml")))
            .Concat(ObservedChecksTests.Check(ObservedChecksTests.Seed001Clusters()))
            .ToList();
        Assert.All(results, r => Assert.Contains(r.CheckId, ids));
        Assert.DoesNotContain(results, r => r.Message.Contains("not reported as passed", StringComparison.Ordinal));
        Assert.All(results, r => Assert.Contains(CheckCatalogue.All, c => c.Id == r.CheckId && c.Why == r.Why));
        // Declared passes name their declaration; observed passes say when they read what they judged.
        Assert.All(results.Where(r => r.Status == CheckStatus.Pass), r => Assert.Contains(r.Evidence, e => e.ObservedAt is not null || e.Source is not null));
        Assert.Equal(CheckCatalogue.All.Count, CheckCatalogue.All.Select(c => (c.Id, c.Mode)).Distinct().Count());
    }
}
