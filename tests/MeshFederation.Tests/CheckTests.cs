using MeshFederation.Engine.Checks;
using MeshFederation.Engine.Model;

namespace MeshFederation.Tests;

/// <summary>Every offline check has a passing and a failing case.</summary>
public class CheckTests
{
    private static MeshControlPlane Cp(string name, string? td = null, GatewayExposure exposure = GatewayExposure.LoadBalancer, string? ingressTemplate = null) =>
        new()
        {
            Name = name, Namespace = name + "-system", TrustDomain = td ?? name + ".local", Cluster = new ClusterBinding(name),
            GatewayExposure = exposure, IngressGatewayTemplate = ingressTemplate ?? MeshControlPlane.DefaultIngressTemplate,
        };

    private static IReadOnlyList<MeshCheckResult> Run(params object[] objects) => FederationChecks.Run(FederationSet.From(objects));

    private static MeshCheckResult One(IEnumerable<MeshCheckResult> results, string id, string mesh, string? peer = null) =>
        results.Single(r => r.CheckId == id && r.Mesh == mesh && (peer is null || r.Peer == peer));

    [Fact]
    public void The_seed_001_example_passes_every_check_but_the_root_certificates_it_cannot_know_offline()
    {
        var results = FederationChecks.Run(TestSupport.LoadExample("seed-001-blue-green.yaml"));
        Assert.DoesNotContain(results, r => r.Status == CheckStatus.Fail);
        Assert.All(results.Where(r => r.Status == CheckStatus.Warn), r => Assert.Equal("OSSM2.PeerRootCertificate", r.CheckId));
        Assert.All(results.Where(r => r.Status != CheckStatus.Pass), r => Assert.False(string.IsNullOrEmpty(r.Fix)));
        Assert.All(results, r => Assert.False(string.IsNullOrEmpty(r.Why)));
    }

    [Fact]
    public void TrustDomainUnique()
    {
        var a = Cp("a"); var b = Cp("b");
        Assert.Equal(CheckStatus.Pass, One(Run(a, b), "OSSM2.TrustDomainUnique", "a").Status);
        var c = Cp("c", "a.local");
        Assert.Equal(CheckStatus.Fail, One(Run(a, c), "OSSM2.TrustDomainUnique", "c").Status);
    }

    [Fact]
    public void PeerBothSides()
    {
        var pair = MeshPeering.Pair(Cp("a"), Cp("b"));
        Assert.Equal(CheckStatus.Pass, One(Run(pair[0], pair[1]), "OSSM2.PeerBothSides", "a").Status);
        var fail = One(Run(pair[0]), "OSSM2.PeerBothSides", "a");
        Assert.Equal(CheckStatus.Fail, fail.Status);
        Assert.Contains("New-MeshPeer", fail.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void PeerAddressKnown_and_NodePortReachable()
    {
        var a = Cp("a"); var b = Cp("b");
        var withAddress = new MeshPeering { Local = a, Remote = b, RemoteAddresses = new[] { "10.0.0.2" } };
        Assert.Equal(CheckStatus.Pass, One(Run(withAddress), "OSSM2.PeerAddressKnown", "a").Status);
        Assert.Equal(CheckStatus.Warn, One(Run(new MeshPeering { Local = a, Remote = b }), "OSSM2.PeerAddressKnown", "a").Status);
        var np = Cp("np", exposure: GatewayExposure.NodePort);
        var toNodePort = new MeshPeering { Local = a, Remote = np };
        Assert.Equal(CheckStatus.Fail, One(Run(toNodePort), "OSSM2.NodePortReachable", "a").Status);
        var npWithNodes = new MeshControlPlane { Name = "np", Namespace = "np-system", TrustDomain = "np.local", Cluster = new ClusterBinding("np"), GatewayExposure = GatewayExposure.NodePort, NodeAddresses = new[] { "10.1.1.1" } };
        var ok = Run(new MeshPeering { Local = a, Remote = npWithNodes });
        Assert.DoesNotContain(ok, r => r.CheckId == "OSSM2.NodePortReachable");
        Assert.Equal(CheckStatus.Pass, One(ok, "OSSM2.PeerAddressKnown", "a").Status);
    }

    [Fact]
    public void PeerRootCertificate()
    {
        var a = Cp("a"); var b = Cp("b");
        Assert.Equal(CheckStatus.Pass, One(Run(new MeshPeering { Local = a, Remote = b, CaBundle = "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n" }), "OSSM2.PeerRootCertificate", "a").Status);
        Assert.Equal(CheckStatus.Warn, One(Run(new MeshPeering { Local = a, Remote = b }), "OSSM2.PeerRootCertificate", "a").Status);
    }

    [Fact]
    public void GatewayNames()
    {
        var a = Cp("a"); var b = Cp("b");
        Assert.Equal(CheckStatus.Pass, One(Run(new MeshPeering { Local = a, Remote = b }), "OSSM2.GatewayNames", "a").Status);
        var longName = Cp("a", ingressTemplate: "federation-ingress-gateway-for-the-remote-mesh-{peer}");
        var longPeer = Cp(new string('b', 30));
        Assert.Equal(CheckStatus.Fail, One(Run(new MeshPeering { Local = longName, Remote = longPeer }), "OSSM2.GatewayNames", "a").Status);
    }

    [Fact]
    public void ExportPeered_ImportPeered_and_ImportResolves()
    {
        var a = Cp("a"); var b = Cp("b"); var c = Cp("c");
        var pair = MeshPeering.Pair(a, b);
        var export = new MeshServiceExport { ControlPlane = a, Peer = "b", Namespace = "ns", Name = "svc", AliasNamespace = "pub" };
        var good = new MeshServiceImport { ControlPlane = b, Peer = "a", Namespace = "pub", Name = "svc" };
        var results = Run(pair[0], pair[1], export, good);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.ExportPeered", "a").Status);
        Assert.Equal(CheckStatus.Pass, One(results, "OSSM2.ImportPeered", "b").Status);
        var resolves = One(results, "OSSM2.ImportResolves", "b");
        Assert.Equal(CheckStatus.Pass, resolves.Status);
        Assert.Contains("svc.pub.svc.a-imports.local", resolves.Message, StringComparison.Ordinal);

        // Matching the original (unaliased) namespace does not resolve: imports match what the exporter publishes.
        var wrongNs = new MeshServiceImport { ControlPlane = b, Peer = "a", Namespace = "ns", Name = "svc" };
        Assert.Equal(CheckStatus.Fail, One(Run(pair[0], pair[1], export, wrongNs), "OSSM2.ImportResolves", "b").Status);

        var toStranger = new MeshServiceExport { ControlPlane = a, Peer = "c", Namespace = "ns", Name = "svc" };
        Assert.Equal(CheckStatus.Fail, One(Run(pair[0], pair[1], c, toStranger), "OSSM2.ExportPeered", "a").Status);
        var fromStranger = new MeshServiceImport { ControlPlane = b, Peer = "c", Namespace = "ns", Name = "svc" };
        Assert.Equal(CheckStatus.Fail, One(Run(pair[0], pair[1], c, fromStranger), "OSSM2.ImportPeered", "b").Status);

        var bySelector = new MeshServiceExport { ControlPlane = a, Peer = "b", Namespace = "ns", LabelSelector = new Dictionary<string, string> { ["app"] = "x" } };
        var maybe = new MeshServiceImport { ControlPlane = b, Peer = "a", Namespace = "ns", Name = "x" };
        Assert.Equal(CheckStatus.Warn, One(Run(pair[0], pair[1], bySelector, maybe), "OSSM2.ImportResolves", "b").Status);
    }

    [Fact]
    public void ImportAsLocalAlias()
    {
        var a = Cp("a"); var b = Cp("b");
        var pair = MeshPeering.Pair(a, b);
        var ok = new MeshServiceImport { ControlPlane = b, Peer = "a", Namespace = "ns", Name = "svc", AliasNamespace = "ns", ImportAsLocal = true };
        Assert.Equal(CheckStatus.Pass, One(Run(pair[0], pair[1], ok), "OSSM2.ImportAsLocalAlias", "b").Status);
        // Objects read from a cluster or a snapshot can carry the rule OSSM drops silently; the check flags it.
        var dropped = new MeshServiceImport { ControlPlane = b, Peer = "a", Namespace = "ns", Name = "svc", ImportAsLocal = true };
        var r = One(Run(pair[0], pair[1], dropped), "OSSM2.ImportAsLocalAlias", "b");
        Assert.Equal(CheckStatus.Fail, r.Status);
        Assert.Contains("silently", r.Why, StringComparison.Ordinal);
    }
}
