using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;

namespace MeshFederation.Tests;

/// <summary>MeshControlPlane.ControlPlaneName: the SMCP / Sail Istio resource name, separate from the mesh name peers use.</summary>
public class ControlPlaneNameTests
{
    private const string Head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n";

    [Fact]
    public void The_SMCP_takes_controlPlaneName_while_peers_keep_the_mesh_name()
    {
        var set = TestSupport.LoadText(Head + """
            meshes:
              - {name: mesh1, controlPlaneName: fed-export, namespace: mesh1-system, cluster: c1}
              - {name: mesh2, namespace: mesh2-system, cluster: c2}
            peerings: all
            """);
        Assert.Equal("fed-export", set.FindControlPlane("mesh1")!.ControlPlaneName);
        Assert.Equal("mesh2", set.FindControlPlane("mesh2")!.ControlPlaneName);
        var docs = Ossm2Renderer.Render(set).AllManifests.ToList();
        Assert.Equal(new[] { "fed-export", "mesh2" }, docs.Where(d => d.Kind == "ServiceMeshControlPlane").Select(d => d.Content["metadata"]!["name"]!.GetValue<string>()).Order(StringComparer.Ordinal));
        Assert.Single(docs, d => d.Kind == "ServiceMeshPeer" && d.Name == "mesh1" && d.Namespace == "mesh2-system");
        // A copy made while applying keeps it.
        Assert.Equal("fed-export", set.FindControlPlane("mesh1")!.WithNodeAddresses(new[] { "10.0.0.1" }).ControlPlaneName);
    }

    [Fact]
    public void Istio_styles_name_the_Istio_resource_default_unless_told_otherwise()
    {
        var set = TestSupport.LoadText(Head + "meshes:\n  - {name: m, style: multi-primary, cluster: a}\n  - {name: n, style: multi-primary, cluster: b, controlPlaneName: blue, meshId: m}\n");
        var docs = Ossm2Renderer.Render(set).AllManifests.ToList();
        Assert.Equal("default", docs.Single(d => d.Kind == "Istio" && d.Cluster == "a").Name);
        Assert.Equal("blue", docs.Single(d => d.Kind == "Istio" && d.Cluster == "b").Content["metadata"]!["name"]!.GetValue<string>());
        // IstioCNI must be named default whatever the Istio resource is called (Sail CRD rule).
        Assert.All(docs.Where(d => d.Kind == "IstioCNI"), d => Assert.Equal("default", d.Name));
    }

    [Fact]
    public void A_bad_controlPlaneName_names_the_field_the_value_and_the_fix()
    {
        var ex = TestSupport.Problems(() => TestSupport.LoadText(Head + "meshes:\n  - {name: mesh1, controlPlaneName: Fed_Export}\n"));
        TestSupport.AssertProblem(ex, "controlPlaneName", "Fed_Export");
        var factory = TestSupport.Problems(() => Factory.ControlPlanes(new ControlPlaneRequest { Name = "mesh1", ControlPlaneName = "" }));
        TestSupport.AssertProblem(factory, "controlPlaneName");
    }
}
