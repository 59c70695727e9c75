using System.Text.Json.Nodes;
using MeshFederation.Cli;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Tests;

/// <summary>
/// meshfed validate, Import-MeshTopology and every render check each object they would render against the upstream
/// schemas shipped inside the engine (compressed), offline, with the field path — as kubeconform does. The shipped
/// schemas must be exactly what shared/crds gives, and cover every kind the renderer emits.
/// </summary>
public class OfflineSchemaValidationTests
{
    private const string Head = "apiVersion: meshfederation.io/v1alpha1\nkind: FederationTopology\n";

    private static MeshFederationException LoadFails(string body) => TestSupport.Problems(() => TestSupport.LoadText(Head + body, "bad.yaml"));

    // Item 7: versions the Sail CRD rejects, and versions a style cannot run.
    [Theory]
    [InlineData("multi-primary", "v1.13.2", null)]             // OCM demo's Istio version: not a Sail version at all
    [InlineData("multi-mesh", "v1.28.0", null)]                // newer than the shipped Sail 1.27.3 CRD knows
    [InlineData("multi-primary", "v1.27.3", "sailoperator.io/v1alpha1")] // v1alpha1 (Sail 0.2) served up to v1.24.1
    [InlineData("multi-primary", "v1.23.0", "sailoperator.io/v1")]       // seed 003's version exists only in v1alpha1
    public void Sail_versions_the_CRD_of_the_chosen_API_rejects_fail_with_the_field_and_the_versions_it_takes(string style, string version, string? api)
    {
        var ex = LoadFails($"meshes:\n  - {{name: m, style: {style}, cluster: a, version: {version}{(api is null ? "" : ", sailApiVersion: " + api)}}}\n");
        var p = TestSupport.AssertProblem(ex, "version", version);
        Assert.Contains(api == "sailoperator.io/v1alpha1" ? "v1.24.1" : "v1.27.3", p.Fix, StringComparison.Ordinal);
        Assert.Equal("bad.yaml", p.Location?.File);
        // The cmdlets reject it the same way (New-MeshControlPlane goes through the same factory).
        var cmdlet = TestSupport.Problems(() => Factory.ControlPlanes(new ControlPlaneRequest
        {
            Name = "m", Style = style == "multi-mesh" ? MeshStyle.MultiMesh : MeshStyle.MultiPrimary, Version = version, SailApiVersion = api,
        }));
        TestSupport.AssertProblem(cmdlet, "version", version);
    }

    [Theory]
    [InlineData("multi-primary", "v1.23.0", "sailoperator.io/v1alpha1")]
    [InlineData("multi-primary", "v1.27-latest", null)]
    [InlineData("multi-mesh", "v1.22.5", null)]
    [InlineData("ossm2", "v2.6", null)]
    [InlineData("ossm2", "\"\"", null)]
    public void Versions_the_CRD_and_the_style_take_are_valid(string style, string version, string? api) =>
        Assert.Single(TestSupport.LoadText($"{Head}meshes:\n  - {{name: m, style: {style}, cluster: a, version: {version}{(api is null ? "" : ", sailApiVersion: " + api)}}}\n").ControlPlanes);

    [Theory]
    [InlineData("v2.7")]
    [InlineData("v2.0")]
    [InlineData("v1.27.3")]
    public void OSSM_2_takes_the_versions_that_shipped_federation(string version) =>
        TestSupport.AssertProblem(LoadFails($"meshes:\n  - {{name: m, cluster: a, version: {version}}}\n"), "version", version);

    // Overrides and every other rendered field are judged by the shipped schemas.
    [Fact]
    public void A_typo_in_overrides_fails_offline_with_the_rendered_field_path_the_file_line_and_a_did_you_mean()
    {
        var ex = LoadFails("meshes:\n  - name: m\n    cluster: a\n    overrides:\n      runtime:\n        defaults:\n          container: {imagePullPolicy: Always}\n      tracng: {type: Jaeger}\n");
        var p = TestSupport.AssertProblem(ex, "spec.tracng");
        Assert.Contains("ServiceMeshControlPlane", p.Field, StringComparison.Ordinal);
        Assert.Contains("tracing", p.Fix, StringComparison.Ordinal);
        Assert.Equal(10, p.Location?.Line); // the line of 'tracng:' (two header lines, then the body's 8th)
    }

    [Fact]
    public void A_wrong_enum_value_fails_with_the_values_the_schema_takes()
    {
        var ex = LoadFails("meshes:\n  - {name: m, cluster: a}\nfailover:\n  - {mesh: m, name: r, namespace: b, host: r.b.svc.cluster.local, from: x, to: y, loadBalancer: ROUND_ROBBIN}\n");
        var p = TestSupport.AssertProblem(ex, "spec.trafficPolicy.loadBalancer.simple", "ROUND_ROBBIN");
        Assert.Contains("ROUND_ROBIN", p.Fix, StringComparison.Ordinal);
        Assert.Equal(6, p.Location?.Line); // the failover entry
    }

    [Fact]
    public void Istio_values_are_judged_by_the_Sail_schema_of_the_chosen_API_version()
    {
        var typo = LoadFails("meshes:\n  - name: m\n    style: multi-primary\n    cluster: a\n    overrides:\n      values:\n        global: {meshId: x}\n");
        var p = TestSupport.AssertProblem(typo, "spec.values.global.meshId");
        Assert.Contains("meshID", p.Fix, StringComparison.Ordinal);
        var wrongType = LoadFails("meshes:\n  - name: m\n    style: multi-primary\n    cluster: a\n    sailApiVersion: sailoperator.io/v1alpha1\n    version: v1.24.1\n    overrides:\n      values:\n        pilot: {autoscaleEnabled: maybe}\n");
        TestSupport.AssertProblem(wrongType, "spec.values.pilot.autoscaleEnabled", "maybe");
    }

    [Fact]
    public void The_cmdlet_pipeline_is_judged_when_it_renders()
    {
        var cp = Factory.ControlPlanes(new ControlPlaneRequest { Name = "m", SpecOverrides = JsonNode.Parse("""{"gateways":{"ingress":{"enabld":true}}}""")!.AsObject() }).Single();
        var ex = TestSupport.Problems(() => Ossm2Renderer.RenderObject(cp));
        var p = TestSupport.AssertProblem(ex, "spec.gateways.ingress.enabld");
        Assert.Contains("enabled", p.Fix, StringComparison.Ordinal);
    }

    [Fact]
    public void meshfed_validate_exits_2_and_names_the_field_path()
    {
        var dir = Paths.TempDir();
        var file = Path.Combine(dir, "t.yaml");
        File.WriteAllText(file, Head + "meshes:\n  - {name: m, cluster: a, overrides: {securty: {}}}\n");
        var (code, stdout, stderr) = BadInputTests.Cli("validate", file);
        Assert.Equal(MeshfedApp.ExitBadInput, code);
        Assert.Contains("spec.securty", stderr, StringComparison.Ordinal);
        Assert.Contains("t.yaml:4", stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("valid (", stdout, StringComparison.Ordinal);
    }

    // The shipped schemas.
    [Fact]
    public void The_shipped_schemas_are_exactly_what_shared_crds_give()
    {
        var expected = SchemaBundleBuilder.Build(Paths.Crds);
        var path = Path.Combine(Paths.RepoRoot, "src", "MeshFederation.Engine", "Schemas", UpstreamSchemas.ResourceFile);
        if (Environment.GetEnvironmentVariable("MESHFED_WRITE_SCHEMAS") == "1") File.WriteAllBytes(path, UpstreamSchemas.Compress(expected));
        if (Environment.GetEnvironmentVariable("MESHFED_DUMP_SCHEMAS") is { Length: > 0 } dump) File.WriteAllText(dump, expected);
        Assert.Equal(TestSupport.Canonical(JsonNode.Parse(expected)), TestSupport.Canonical(UpstreamSchemas.BundleJson()));
        Assert.Equal(File.ReadAllBytes(path), UpstreamSchemas.ReadEmbeddedBytes());
        // Compressed and small: the engine assembly ships it.
        Assert.True(new FileInfo(path).Length < 400_000, $"{path} is {new FileInfo(path).Length} bytes");
    }

    [Fact]
    public void The_shipped_schemas_cover_every_kind_the_renderer_emits_and_name_their_sources()
    {
        var rendered = Paths.ExampleTopologies.SelectMany(f => TestSupport.RenderExample(Path.GetFileName(f)).AllManifests)
            .Concat(Directory.GetFiles(Path.Combine(UpstreamFixtureTests.FixtureDir, "Topologies"), "*.yaml").SelectMany(f => UpstreamFixtureTests.Render(Path.GetFileNameWithoutExtension(f)).AllManifests))
            .Select(m => $"{m.ApiVersion}/{m.Kind}").Distinct().ToList();
        Assert.True(rendered.Count >= 20, string.Join(", ", rendered));
        foreach (var k in rendered) Assert.True(UpstreamSchemas.Knows(k), $"no shipped schema for {k}");
        foreach (var k in new[] { "sailoperator.io/v1alpha1/Istio", "sailoperator.io/v1alpha1/IstioCNI", "networking.istio.io/v1alpha3/ServiceEntry", "networking.istio.io/v1beta1/DestinationRule" })
            Assert.True(UpstreamSchemas.Knows(k), k);
        var sources = UpstreamSchemas.BundleJson()["sources"]!.AsArray().Select(s => s!["repo"]!.GetValue<string>() + "@" + s["commit"]!.GetValue<string>()).ToList();
        Assert.Contains("istio-ecosystem/sail-operator@773a11747c38e375485df82640696f986ded4e76", sources);
        Assert.Contains("maistra/istio-operator@8143614c5f13ef9b894d107d47353507b70f45ea", sources);
    }

    /// <summary>The shipped validator and the independent judge (NJsonSchema) agree on every rendered object and on broken copies of them.</summary>
    [Fact]
    public void The_shipped_validator_agrees_with_the_independent_judge()
    {
        var docs = Paths.ExampleTopologies.SelectMany(f => TestSupport.RenderExample(Path.GetFileName(f)).AllManifests)
            .Where(m => KubeSchemas.Knows(m.ApiVersion, m.Kind) && m.Kind is not ("Deployment" or "PodDisruptionBudget" or "HorizontalPodAutoscaler")).Select(m => m.Content).ToList();
        Assert.True(docs.Count > 30);
        foreach (var d in docs)
        {
            Assert.Empty(KubeSchemas.Validate(d));
            Assert.Empty(UpstreamSchemas.Validate(d));
            var broken = (JsonObject)d.DeepClone();
            broken[broken.ContainsKey("spec") ? "spec" : "metadata"]!.AsObject()["notAField"] = 1;
            Assert.NotEmpty(KubeSchemas.Validate(broken));
            Assert.Contains(UpstreamSchemas.Validate(broken), e => e.Path.EndsWith("notAField", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void The_validator_reports_types_required_fields_patterns_and_mutually_exclusive_fields()
    {
        var vs = JsonNode.Parse("""
            {"apiVersion":"networking.istio.io/v1","kind":"VirtualService","metadata":{"name":"a","namespace":"b"},
             "spec":{"hosts":["a"],"http":[{"match":[{"uri":{"exact":"/a","prefix":"/b"}}],"route":[{"destination":{"host":"a"},"weight":"x"}]}]}}
            """)!.AsObject();
        var errors = UpstreamSchemas.Validate(vs);
        Assert.Contains(errors, e => e.Path == "spec.http[0].route[0].weight" && e.Problem.Contains("integer", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "spec.http[0].match[0].uri");
        var svc = JsonNode.Parse("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"},"spec":{"ports":[{"name":"x"}]}}""")!.AsObject();
        Assert.Contains(UpstreamSchemas.Validate(svc), e => e.Path == "spec.ports[0].port" && e.Problem.Contains("required", StringComparison.Ordinal));
        var cni = JsonNode.Parse("""{"apiVersion":"sailoperator.io/v1","kind":"IstioCNI","metadata":{"name":"default"},"spec":{"version":"v1.13.2"}}""")!.AsObject();
        Assert.Contains(UpstreamSchemas.Validate(cni), e => e.Path == "spec.version" && e.Fix.Contains("v1.27.3", StringComparison.Ordinal));
    }
}
