using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Topology;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;
using static MeshFederation.Engine.Rendering.JsonBuilder;

namespace MeshFederation.Engine.Migration;

/// <summary>Settings of a migration.</summary>
public sealed class MigrationOptions
{
    /// <summary>The OSSM 3 Istio version (the migration guide installs v1.24-latest, OSSM 3.0).</summary>
    public string Version { get; init; } = DefaultVersion;

    public const string DefaultVersion = "v1.24-latest";

    /// <summary>Name of the OSSM 3 topology (metadata.name); default the OSSM 2 set's name with -ossm3.</summary>
    public string? Name { get; init; }
}

/// <summary>Something to do in one cluster during a step: a command to run, and the file it applies when it applies one.</summary>
public sealed record MeshMigrationAction(string Cluster, string Description, string Command, string? File = null)
{
    public override string ToString() => $"{Cluster}: {Description}";
}

/// <summary>What to verify before the next step: the command, and what it must show.</summary>
public sealed record MeshMigrationCheck(string Cluster, string What, string Command, string Expect)
{
    public override string ToString() => $"{Cluster}: {What} (expect {Expect})";
}

/// <summary>One step of the migration guide: what to apply where, what to verify before the next, and how to roll back.</summary>
public sealed class MeshMigrationStep
{
    public required int Number { get; init; }

    public required string Title { get; init; }

    public required string Why { get; init; }

    public IReadOnlyList<MeshMigrationAction> Actions { get; init; } = Array.Empty<MeshMigrationAction>();

    public IReadOnlyList<MeshMigrationCheck> Verify { get; init; } = Array.Empty<MeshMigrationCheck>();

    /// <summary>Commands that undo the step (run them in order); empty when the step has nothing to undo.</summary>
    public IReadOnlyList<string> Rollback { get; init; } = Array.Empty<string>();

    public override string ToString() => $"{Number}. {Title}";
}

/// <summary>
/// The migration of an OSSM 2 federation to the OSSM 3 federation style: the OSSM 3 topology, its manifests split by the
/// step that applies them, and the ordered steps of Red Hat's Federation-to-Multi-Cluster migration guide.
/// </summary>
public sealed class MeshMigration
{
    public required string Name { get; init; }

    /// <summary>The OSSM 2 federation that was read.</summary>
    public required Ossm2Federation Source { get; init; }

    /// <summary>The OSSM 3 federation (the objects <see cref="TopologyYaml"/> declares).</summary>
    public required FederationSet Target { get; init; }

    public required string TopologyYaml { get; init; }

    /// <summary>The OSSM 3 federation's manifests (what <c>meshfed render</c> of the topology gives).</summary>
    public required RenderResult Manifests { get; init; }

    public required IReadOnlyList<MeshMigrationStep> Steps { get; init; }

    /// <summary>What was not translated, values read later, and the guide's caveats that apply.</summary>
    public required IReadOnlyList<string> Notes { get; init; }

    /// <summary>Every file of the migration (MIGRATION.md, the topology, each step's manifests and patches), relative path to content.</summary>
    public required IReadOnlyDictionary<string, string> Files { get; init; }

    /// <summary>The step plan as Markdown (MIGRATION.md).</summary>
    public string Plan => Files[Ossm3Migration.PlanFile];

    /// <summary>The values the manifests still need that do not exist yet (read from the clusters by running the migration again with -Context).</summary>
    public IReadOnlyList<PendingItem> Pending => Manifests.Pending.Where(p => p.Defers).ToList();

    public override string ToString() => $"{Name}: {Target.ControlPlanes.Count} meshes, {Steps.Count} steps";
}

/// <summary>
/// Turns an OSSM 2 federation into the OSSM 3 federation style and the guide's step plan. Meshes keep their names,
/// namespaces (the guide: 2.6 and 3.0 control planes run in the same namespace), trust domains, roots and members;
/// imported services keep their OSSM 2 host names; the SMCP is patched first and its federation gateways removed only
/// after the new path is verified.
/// </summary>
public static class Ossm3Migration
{
    public const string PlanFile = "MIGRATION.md";
    public const string TopologyFile = "ossm3-topology.yaml";
    public const string GuideUrl = "https://github.com/openshift-service-mesh/sail-operator/blob/main/docs/ossm/ossm2-migration/federation/README.md";
    public const string CleanupUrl = "https://github.com/openshift-service-mesh/sail-operator/blob/main/docs/ossm/ossm2-migration/cleaning-2.6/README.md";

    public static MeshMigration Create(Ossm2Federation source, MigrationOptions? options, IYamlBridge yaml)
    {
        options ??= new MigrationOptions();
        var set = source.Set;
        set.EnsureValid();
        var notes = new List<string>(source.Notes);
        var problems = new ProblemList();
        foreach (var g in set.ControlPlanes.GroupBy(c => c.ClusterName, StringComparer.Ordinal).Where(g => g.Count() > 1))
            problems.Add(MeshErrorKind.Conflict, $"mesh '{g.Last().Name}'.cluster", g.Key,
                $"also runs federated mesh {g.First().Name}; OSSM 3 runs one Istio control plane per cluster",
                "migrate one OSSM 2 mesh per cluster (give the federation of one control plane per cluster)", g.Last().Source, g.Last());
        problems.ThrowIfAny();

        // ---- the OSSM 3 federation
        var cps = new Dictionary<string, MeshControlPlane>(StringComparer.Ordinal);
        foreach (var cp in set.ControlPlanes)
        {
            var smcp = source.ControlPlanes.GetValueOrDefault(cp.Name);
            var (overrides, untranslated) = Translate(smcp);
            if (untranslated.Count > 0)
                notes.Add($"{cp.Name}: ServiceMeshControlPlane fields without a counterpart here are not carried over ({string.Join(", ", untranslated)}); see Red Hat's SMCP-to-Istio field mapping and add them under overrides.");
            var network = smcp?["spec"]?["cluster"]?["network"]?.GetValue<string>() ?? cp.Cluster.Network;
            cps[cp.Name] = Factory.ControlPlanes(new ControlPlaneRequest
            {
                Name = cp.Name, Namespace = cp.Namespace, Clusters = new[] { cp.Cluster with { Network = network } }, Style = MeshStyle.Ossm3Federation,
                Version = options.Version, TrustDomain = cp.TrustDomain, MemberNamespaces = cp.MemberNamespaces, RootCertificate = cp.RootCertificate,
                IngressAddresses = source.EastWestAddresses.TryGetValue(cp.Name, out var ew) ? new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal) { ["*"] = ew }
                    : new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal),
                SpecOverrides = overrides, Source = cp.Source,
            }).Single();
        }
        var target = new FederationSet { Name = options.Name ?? (set.Name.EndsWith("-ossm3", StringComparison.Ordinal) ? set.Name : Names.Suggest(set.Name + "-ossm3")) };
        foreach (var cp in cps.Values) target.Add(cp);
        foreach (var p in set.Peerings)
        {
            var local = cps[p.Local.Name];
            var remote = cps[p.Remote.Name];
            // The network the peer's east-west gateway is known by must differ from this mesh's network and from the
            // network OSSM 2 federation gave the peer (the guide's IMPORTANT note: west-network, not network-west-mesh).
            var taken = new HashSet<string>(StringComparer.Ordinal) { local.Network, p.EffectiveNetworkView, remote.Network };
            var candidates = new[] { $"{remote.ClusterName}-network", $"{remote.ClusterName}-ossm3-network", $"{remote.Name}-east-west" };
            var chosen = candidates.FirstOrDefault(c => !taken.Contains(c) && Names.IsDns1123Label(c)) ?? Names.Suggest($"ew-{remote.Name}");
            target.Add(new MeshPeering { Local = local, Remote = remote, NetworkView = chosen == $"{remote.ClusterName}-network" ? "" : chosen, Source = p.Source });
        }
        foreach (var e in set.Exports)
        {
            if (e.IsLabelSelector || Names.IsWildcard(e.Name) || Names.IsWildcard(e.Namespace))
            {
                notes.Add($"{e.Mesh} exports {e} by a selector: OSSM 3 federation lists services one by one. Run the migration against the clusters (meshfed migrate --context, ConvertTo-MeshOssm3Federation -Context), which reads the services it matched from the ExportedServiceSet's status, or list them in {TopologyFile}.");
                continue;
            }
            if (!cps.ContainsKey(e.Peer))
            {
                notes.Add($"{e.Mesh} exports {e.Namespace}/{e.Name} to {e.Peer}, which is not part of this migration; it is not carried over.");
                continue;
            }
            var d = source.Services.GetValueOrDefault((e.Mesh, e.Namespace, e.Name!));
            target.Add(new MeshServiceExport
            {
                ControlPlane = cps[e.Mesh], Peer = e.Peer, Namespace = e.Namespace, Name = e.Name, AliasNamespace = e.AliasNamespace, AliasName = e.AliasName,
                Ports = d?.Ports ?? Array.Empty<ServicePortSpec>(), ServiceAccounts = d?.ServiceAccounts ?? Array.Empty<string>(), WorkloadSelector = d?.Selector, Source = e.Source,
            });
        }
        var imports = new List<MeshServiceImport>();
        foreach (var i in set.Imports)
        {
            if (i.Locality is not null)
                notes.Add($"{i.Mesh} imports {i.Namespace}/{i.Name} from {i.Peer} with locality {i.Locality}: the OSSM 3 federation style renders no localities; keep locality failover with a DestinationRule on the imported host.");
            if (!cps.ContainsKey(i.Peer)) continue;
            imports.Add(new MeshServiceImport
            {
                ControlPlane = cps[i.Mesh], Peer = i.Peer, Namespace = i.Namespace, Name = i.Name, AliasNamespace = i.AliasNamespace, AliasName = i.AliasName,
                ImportAsLocal = i.ImportAsLocal, DomainSuffix = i.DomainSuffix, Source = i.Source,
            });
        }
        foreach (var i in imports) target.Add(i);
        // Rules that match nothing OSSM 3 can carry (a selector export, an export to another mesh) stay behind with a note.
        var matched = Ossm3Federation.Services(target).Select(s => s.Import).ToHashSet();
        foreach (var i in imports.Where(i => !matched.Contains(i)))
            notes.Add($"{i.Mesh} imports {i.Namespace}/{(i.Name.Length == 0 ? "*" : i.Name)} from {i.Peer}, which matches no service carried over; the rule is not migrated.");
        if (imports.Any(i => !matched.Contains(i)))
        {
            var kept = new FederationSet { Name = target.Name };
            foreach (var o in target.AllObjects().Where(o => o is not MeshServiceImport mi || matched.Contains(mi))) kept.Add(o);
            target = kept;
        }
        target.EnsureValid();
        var manifests = Ossm2Renderer.Render(target);

        // ---- caveats the guide states that apply here
        foreach (var cp in cps.Values)
        {
            var peers = target.Peerings.Where(p => p.Local == cp).Select(p => p.Remote.Name).ToList();
            var exportedTo = target.Exports.Where(e => e.ControlPlane == cp).Select(e => e.Peer).Distinct(StringComparer.Ordinal).ToList();
            if (exportedTo.Count > 0 && peers.Except(exportedTo, StringComparer.Ordinal).Any())
                notes.Add($"{cp.Name} exported to {string.Join(", ", exportedTo)} only; in OSSM 3 its exported services reach every mesh with network access to its east-west gateway ({string.Join(", ", peers.Except(exportedTo, StringComparer.Ordinal))} too). Restrict callers with AuthorizationPolicies.");
        }
        notes.Add("trustDomainAliases make identities of the peers' trust domains equal to local ones: an AuthorizationPolicy allowing <peer trust domain>/ns/foo/sa/bar also allows the local ns/foo/sa/bar. meshfed check --live warns where a policy names such an identity.");
        notes.Add("The east-west gateway and istio-remote Gateways are Gateway API Gateways: OpenShift 4.19 or later (which ships the Gateway API) is required, with OSSM 2.6 and OSSM 3.0 operators installed side by side.");

        var stepFiles = new Dictionary<string, string>(StringComparer.Ordinal);
        var steps = Steps(source, target, manifests, stepFiles, yaml);
        var topologyDoc = TopologyWriter.Ossm3Federation(target);
        var topologyYaml = $"# OSSM 3 federation migrated from the OSSM 2 federation '{set.Name}' by MeshFederation ({PlanFile} has the steps).\n" +
                           "# After the migration, `meshfed apply` manages it; objects the steps applied with kubectl are updated, never deleted.\n" +
                           yaml.Emit(new[] { (JsonNode)topologyDoc });
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal) { [TopologyFile] = topologyYaml };
        foreach (var (path, content) in stepFiles) files[path] = content;
        var migration = new MeshMigration
        {
            Name = target.Name, Source = source, Target = target, TopologyYaml = topologyYaml, Manifests = manifests, Steps = steps, Notes = notes,
            Files = files,
        };
        files[PlanFile] = Markdown(migration);
        return migration;
    }

    /// <summary>SMCP fields with an Istio counterpart the style renders: the proxies' access log (proxy.accessLogging.file → meshConfig.accessLog*).</summary>
    private static (JsonObject? Overrides, List<string> Untranslated) Translate(JsonObject? smcp)
    {
        var untranslated = new List<string>();
        var spec = smcp?["spec"] as JsonObject;
        if (spec is null) return (null, untranslated);
        var meshConfig = new JsonObject();
        var file = spec["proxy"]?["accessLogging"]?["file"];
        if (file?["name"]?.GetValue<string>() is { } name) meshConfig["accessLogFile"] = name;
        if (file?["encoding"]?.GetValue<string>() is { } encoding) meshConfig["accessLogEncoding"] = encoding;
        if (file?["format"]?.GetValue<string>() is { } format) meshConfig["accessLogFormat"] = format;
        // Fields this migration sets itself or that belong to OSSM 2 federation, and those the guide does not carry over.
        var known = new HashSet<string>(StringComparer.Ordinal) { "version", "mode", "gateways", "security", "cluster", "techPreview", "runtime", "addons", "tracing", "proxy" };
        untranslated.AddRange(spec.Select(kv => kv.Key).Where(k => !known.Contains(k)).Order(StringComparer.Ordinal));
        foreach (var (k, v) in (spec["proxy"] as JsonObject) ?? new JsonObject())
            if (k != "accessLogging" && v is not null) untranslated.Add("proxy." + k);
        if (spec["addons"] is JsonObject addons && addons.Any(a => a.Value?["enabled"]?.GetValue<bool>() == true))
            untranslated.Add("addons (OSSM 3 installs Kiali, Prometheus and tracing separately)");
        if (spec["tracing"]?["type"]?.GetValue<string>() is { } tracing && tracing != "None") untranslated.Add("tracing");
        return (meshConfig.Count > 0 ? Obj(("values", Obj(("meshConfig", meshConfig)))) : null, untranslated);
    }

    // ------------------------------------------------------------------ steps

    private static string Ctx(MeshControlPlane cp) => $"kubectl --context {cp.Cluster.Context ?? cp.ClusterName}";

    private static IReadOnlyList<MeshMigrationStep> Steps(Ossm2Federation source, FederationSet target, RenderResult manifests, Dictionary<string, string> files, IYamlBridge yaml)
    {
        var cps = target.ControlPlanes.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
        var steps = new List<MeshMigrationStep>();
        var services = Ossm3Federation.Services(target);
        var exporters = cps.Where(c => Ossm3Federation.ExposedHosts(target, c, services).Count > 0).ToList();
        var importers = cps.Where(c => services.Any(s => s.Importer == c)).ToList();
        string Json(JsonNode node) => node.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

        // 1. Prepare the 2.6 control planes.
        {
            var actions = new List<MeshMigrationAction>();
            var verify = new List<MeshMigrationCheck>();
            var rollback = new List<string>();
            foreach (var cp in cps)
            {
                var smcp = source.ControlPlanes[cp.Name];
                var smcpName = smcp["metadata"]?["name"]?.GetValue<string>() ?? cp.Name;
                var prev = smcp["spec"] as JsonObject ?? new JsonObject();
                var aliases = ((prev["techPreview"]?["meshConfig"]?["trustDomainAliases"] as JsonArray)?.Select(a => a!.ToString()) ?? Enumerable.Empty<string>())
                    .Concat(target.Peerings.Where(p => p.Local == cp).OrderBy(p => p.Remote.Name, StringComparer.Ordinal).Select(p => p.Remote.TrustDomain)).Distinct(StringComparer.Ordinal).ToList();
                var env = Obj(("PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API", "true"));
                var runtime = Obj(("components", Obj(("pilot", Obj(("container", Obj(("env", env))))))));
                var techPreview = Obj(("meshConfig", Obj(("trustDomainAliases", Strings(aliases)))));
                var patch = Obj(("spec", Obj(
                    ("techPreview", techPreview),
                    ("runtime", runtime),
                    ("cluster", Obj(("network", cp.Network))),
                    ("security", Obj(("manageNetworkPolicy", false))))));
                var undo = Obj(("spec", Undo(prev, (JsonObject)patch["spec"]!)));
                var file = $"steps/1-prepare-ossm2/{cp.ClusterName}.patch.json";
                var undoFile = $"steps/1-prepare-ossm2/{cp.ClusterName}.rollback.json";
                files[file] = Json(patch);
                files[undoFile] = Json(undo);
                actions.Add(new MeshMigrationAction(cp.ClusterName, $"ServiceMeshControlPlane {cp.Namespace}/{smcpName}: trustDomainAliases {string.Join(", ", aliases)}, PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API, network {cp.Network}, manageNetworkPolicy false",
                    $"{Ctx(cp)} -n {cp.Namespace} patch smcp {smcpName} --type=merge --patch-file {file}", file));
                verify.Add(new MeshMigrationCheck(cp.ClusterName, $"the 2.6 control plane {smcpName} is ready again",
                    $"{Ctx(cp)} -n {cp.Namespace} wait smcp/{smcpName} --for=condition=Ready --timeout=10m", "condition met"));
                foreach (var p in source.Set.Peerings.Where(p => p.Local.Name == cp.Name))
                    verify.Add(new MeshMigrationCheck(cp.ClusterName, $"OSSM 2 federation with {p.Remote.Name} still connects",
                        $"{Ctx(cp)} -n {cp.Namespace} get servicemeshpeer {p.Remote.Name} -o jsonpath='{{.status.discoveryStatus.active[*].watch.connected}}'", "true"));
                rollback.Add($"{Ctx(cp)} -n {cp.Namespace} patch smcp {smcpName} --type=merge --patch-file {undoFile}");
            }
            steps.Add(new MeshMigrationStep
            {
                Number = 1, Title = "Configure the OSSM 2.6 control planes",
                Why = "The 2.6 control planes accept the peers' identities without federation (trustDomainAliases), find the istio-remote Gateways' addresses (PILOT_MULTI_NETWORK_DISCOVER_GATEWAY_API), know their own network (istio-remote Gateways need it), and let clients reach the new east-west gateways directly (manageNetworkPolicy false). Federation keeps working meanwhile.",
                Actions = actions, Verify = verify, Rollback = rollback,
            });
        }

        // 2. Export, 3. Import, 6. Install: the OSSM 3 objects, per cluster, by phase.
        MeshMigrationStep Apply(int number, string title, string why, string phase, string dir, IEnumerable<MeshControlPlane> meshes, Func<MeshControlPlane, IEnumerable<MeshMigrationCheck>> checks,
            Func<MeshControlPlane, IEnumerable<MeshMigrationAction>>? after = null)
        {
            var actions = new List<MeshMigrationAction>();
            var verify = new List<MeshMigrationCheck>();
            var rollback = new List<string>();
            foreach (var cp in meshes)
            {
                var existing = source.ExistingNamespaces.GetValueOrDefault(cp.ClusterName) ?? new HashSet<string>(StringComparer.Ordinal);
                var docs = manifests.AllManifests.Where(m => m.Mesh == cp.Name && m.Phase == phase)
                    .Where(m => !(m.Kind == "Namespace" && (m.Name == cp.Namespace || existing.Contains(m.Name) || cp.MemberNamespaces.Contains(m.Name, StringComparer.Ordinal)))).ToList();
                if (docs.Count == 0) continue;
                var file = $"steps/{dir}/{cp.ClusterName}.yaml";
                files[file] = $"# Step {number} ({title}) for cluster {cp.ClusterName}: {docs.Count} objects in apply order.\n" + yaml.Emit(docs.Select(d => (JsonNode)d.Content));
                actions.Add(new MeshMigrationAction(cp.ClusterName, string.Join(", ", docs.Select(d => d.Reference)), $"{Ctx(cp)} apply --server-side -f {file}", file));
                actions.AddRange(after?.Invoke(cp) ?? Enumerable.Empty<MeshMigrationAction>());
                verify.AddRange(checks(cp));
                foreach (var d in docs.Where(d => d.Kind != "Namespace").Reverse())
                {
                    var resource = d.ApiVersion.Contains('/', StringComparison.Ordinal) ? $"{d.Kind.ToLowerInvariant()}.{d.ApiVersion.Split('/')[0]}" : d.Kind.ToLowerInvariant();
                    rollback.Add($"{Ctx(cp)} delete {resource} {d.Name}{(d.Namespace is null ? "" : " -n " + d.Namespace)} --ignore-not-found");
                }
                foreach (var d in docs.Where(d => d.Kind == "Namespace"))
                    rollback.Add($"{Ctx(cp)} delete namespace {d.Name} --ignore-not-found  # created in this step");
            }
            return new MeshMigrationStep { Number = number, Title = title, Why = why, Actions = actions, Verify = verify, Rollback = rollback };
        }

        steps.Add(Apply(2, "Export services", "Each exporting mesh gets an east-west gateway (a Gateway API Gateway that blocks every host by default), an Istio Gateway passing through exactly the hosts its peers import, and a ServiceEntry for each host that is not the service's own name, so the gateway routes the names importers keep using.",
            Ossm3Federation.PhaseExport, "2-export", exporters, cp => new[]
            {
                new MeshMigrationCheck(cp.ClusterName, "the east-west gateway is programmed", $"{Ctx(cp)} -n {Ossm3Federation.EastWestNamespace} wait gateways.gateway.networking.k8s.io/{Ossm3Federation.EastWestGateway} --for=condition=Programmed --timeout=5m", "condition met"),
                new MeshMigrationCheck(cp.ClusterName, "the east-west gateway has an address (the import step needs it)",
                    $"{Ctx(cp)} -n {Ossm3Federation.EastWestNamespace} get service {Ossm3Federation.EastWestService} -o jsonpath='{{.status.loadBalancer.ingress[0].ip}}{{.status.loadBalancer.ingress[0].hostname}}'", "an IP address or host name"),
            }));

        var missingAddresses = manifests.Pending.Where(p => p.Defers && p.What.StartsWith("Gateway ", StringComparison.Ordinal)).ToList();
        var importStep = Apply(3, "Import services", "Each importing mesh gets an istio-remote Gateway per exporting peer (its address is the peer's east-west gateway, on a network name that differs from the OSSM 2 one) and, per imported service, a ServiceEntry with the peer's identities and a WorkloadEntry on that network. Clients keep their OSSM 2 host names.",
            Ossm3Federation.PhaseImport, "3-import", importers, cp => services.Where(s => s.Importer == cp).OrderBy(s => s.Host, StringComparer.Ordinal).Select(s =>
                new MeshMigrationCheck(cp.ClusterName, $"a client in {(s.ExportTo ?? cp.MemberNamespaces).FirstOrDefault() ?? "a member namespace"} reaches {s.Host} through the new path",
                    $"{Ctx(cp)} -n {(s.ExportTo ?? cp.MemberNamespaces).FirstOrDefault() ?? "<client namespace>"} exec deploy/<client> -- curl -sS -o /dev/null -w '%{{http_code}}\\n' http://{s.Host}:{s.Export.Ports.FirstOrDefault()?.Number.ToString(CultureInfo.InvariantCulture) ?? "<port>"}/",
                    "the status code the service answers with (e.g. 200)")),
            cp => cp.MemberNamespaces.Select(ns => new MeshMigrationAction(cp.ClusterName, $"restart the clients in {ns} so their proxies pick up the new endpoints", $"{Ctx(cp)} -n {ns} rollout restart deployment")));
        if (missingAddresses.Count > 0)
            importStep = new MeshMigrationStep
            {
                Number = importStep.Number, Title = importStep.Title, Actions = importStep.Actions, Verify = importStep.Verify, Rollback = importStep.Rollback,
                Why = importStep.Why + " The east-west gateway addresses were not known when this plan was made: after step 2, run the migration again (it reads them; meshfed migrate --context ... or ConvertTo-MeshOssm3Federation -Context ...), or add them as ingressAddresses in " + TopologyFile + " and render it, before applying this step.",
            };
        steps.Add(importStep);

        // 4. Remove federation resources.
        {
            var actions = new List<MeshMigrationAction>();
            var rollback = new List<string>();
            var ordered = new[] { "ImportedServiceSet", "ExportedServiceSet", "ServiceMeshPeer" };
            foreach (var kind in ordered)
                foreach (var cp in cps)
                    foreach (var o in (source.FederationObjects.GetValueOrDefault(cp.Name) ?? Array.Empty<JsonObject>()).Where(o => o["kind"]?.GetValue<string>() == kind))
                        actions.Add(new MeshMigrationAction(cp.ClusterName, $"{kind} {cp.Namespace}/{o["metadata"]!["name"]}",
                            $"{Ctx(cp)} -n {cp.Namespace} delete {kind.ToLowerInvariant()} {o["metadata"]!["name"]}"));
            foreach (var cp in cps)
            {
                var objects = (source.FederationObjects.GetValueOrDefault(cp.Name) ?? Array.Empty<JsonObject>()).OrderBy(o => Array.IndexOf(ordered, o["kind"]?.GetValue<string>()) * -1).Select(Clean).ToList();
                if (objects.Count == 0) continue;
                var file = $"steps/4-remove-federation/{cp.ClusterName}.rollback.yaml";
                files[file] = $"# The OSSM 2 federation objects of {cp.Name} as they were: apply to undo step 4.\n" + yaml.Emit(objects.Select(o => (JsonNode)o));
                rollback.Add($"{Ctx(cp)} apply -f {file}");
            }
            steps.Add(new MeshMigrationStep
            {
                Number = 4, Title = "Remove the OSSM 2 federation resources",
                Why = "The services now flow through the east-west gateways; the ImportedServiceSets, ExportedServiceSets and ServiceMeshPeers go, importers first.",
                Actions = actions, Verify = steps[2].Verify, Rollback = rollback,
            });
        }

        // 5. Remove the federation gateways.
        {
            var actions = new List<MeshMigrationAction>();
            var rollback = new List<string>();
            foreach (var cp in cps)
            {
                var smcp = source.ControlPlanes[cp.Name];
                var smcpName = smcp["metadata"]?["name"]?.GetValue<string>() ?? cp.Name;
                var peers = (source.FederationObjects.GetValueOrDefault(cp.Name) ?? Array.Empty<JsonObject>()).Where(o => o["kind"]?.GetValue<string>() == "ServiceMeshPeer").ToList();
                var ops = new JsonArray();
                var restore = new JsonObject();
                foreach (var (section, role) in new[] { ("additionalIngress", "ingress"), ("additionalEgress", "egress") })
                {
                    var present = smcp["spec"]?["gateways"]?[section] as JsonObject;
                    if (present is null || present.Count == 0) continue;
                    var federation = peers.Select(p => p["spec"]?["gateways"]?[role]?["name"]?.GetValue<string>()).Where(n => n is not null && present.ContainsKey(n!)).Select(n => n!).Distinct(StringComparer.Ordinal).ToList();
                    if (federation.Count == 0) continue;
                    // The guide removes the whole section; when it holds other gateways too, only the federation ones go.
                    if (federation.Count == present.Count) ops.Add((JsonNode)Obj(("op", "remove"), ("path", $"/spec/gateways/{section}")));
                    else foreach (var n in federation) ops.Add((JsonNode)Obj(("op", "remove"), ("path", $"/spec/gateways/{section}/{n.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)}")));
                    restore[section] = Obj(federation.Select(n => (n, present[n]?.DeepClone())).ToArray());
                }
                if (ops.Count == 0) continue;
                var file = $"steps/5-remove-federation-gateways/{cp.ClusterName}.patch.json";
                var undoFile = $"steps/5-remove-federation-gateways/{cp.ClusterName}.rollback.json";
                files[file] = Json(ops);
                files[undoFile] = Json(Obj(("spec", Obj(("gateways", restore)))));
                actions.Add(new MeshMigrationAction(cp.ClusterName, $"ServiceMeshControlPlane {cp.Namespace}/{smcpName}: federation ingress and egress gateways",
                    $"{Ctx(cp)} -n {cp.Namespace} patch smcp {smcpName} --type=json --patch-file {file}", file));
                rollback.Add($"{Ctx(cp)} -n {cp.Namespace} patch smcp {smcpName} --type=merge --patch-file {undoFile}");
            }
            steps.Add(new MeshMigrationStep
            {
                Number = 5, Title = "Remove the federation gateways",
                Why = "Nothing goes through the federation ingress and egress gateways any more.",
                Actions = actions, Verify = steps[2].Verify, Rollback = rollback,
            });
        }

        // 6. Install the OSSM 3 control planes.
        steps.Add(Apply(6, "Install the OSSM 3 control planes", "The Sail Istio resource runs next to the 2.6 control plane in the same namespace (RevisionBased, so nothing moves until namespaces are relabelled), trusting the peers' roots (caCertificates, ISTIO_MULTIROOT_MESH) and trust domains (trustDomainAliases), allocating addresses to imported hosts (PILOT_ENABLE_IP_AUTOALLOCATE) and answering DNS for them in the proxies.",
            Ossm3Federation.PhaseControlPlane, "6-install-ossm3", cps, cp => new[]
            {
                new MeshMigrationCheck(cp.ClusterName, "the Istio control plane is ready", $"{Ctx(cp)} wait istio/{cp.ControlPlaneName} --for=condition=Ready --timeout=10m", "condition met"),
                new MeshMigrationCheck(cp.ClusterName, $"its revision {Ossm3Federation.Revision(cp)} exists", $"{Ctx(cp)} get istiorevision {Ossm3Federation.Revision(cp)}", "the revision, READY True"),
            }));

        // 7. Migrate proxies and gateways.
        {
            var actions = new List<MeshMigrationAction>();
            var rollback = new List<string>();
            foreach (var cp in cps)
            {
                var rev = Ossm3Federation.Revision(cp);
                var labelled = source.InjectionLabelled.GetValueOrDefault(cp.Name);
                foreach (var ns in cp.MemberNamespaces)
                {
                    actions.Add(new MeshMigrationAction(cp.ClusterName, $"namespace {ns} to revision {rev}", $"{Ctx(cp)} label namespace {ns} istio.io/rev={rev} maistra.io/ignore-namespace=true istio-injection- --overwrite"));
                    actions.Add(new MeshMigrationAction(cp.ClusterName, $"restart the workloads of {ns}", $"{Ctx(cp)} -n {ns} rollout restart deployment"));
                    var restoreInjection = labelled is null || labelled.Contains(ns, StringComparer.Ordinal) ? " istio-injection=enabled" : "";
                    rollback.Add($"{Ctx(cp)} label namespace {ns} istio.io/rev- maistra.io/ignore-namespace-{restoreInjection} --overwrite && {Ctx(cp)} -n {ns} rollout restart deployment");
                }
                if (exporters.Contains(cp))
                {
                    actions.Add(new MeshMigrationAction(cp.ClusterName, $"the east-west gateway to revision {rev} (labels on the Gateway itself: namespace labels do not reach it)",
                        $"{Ctx(cp)} -n {Ossm3Federation.EastWestNamespace} label gateways.gateway.networking.k8s.io {Ossm3Federation.EastWestGateway} istio.io/rev={rev} maistra.io/ignore=true --overwrite"));
                    rollback.Add($"{Ctx(cp)} -n {Ossm3Federation.EastWestNamespace} label gateways.gateway.networking.k8s.io {Ossm3Federation.EastWestGateway} istio.io/rev- maistra.io/ignore-");
                }
            }
            steps.Add(new MeshMigrationStep
            {
                Number = 7, Title = "Migrate proxies and gateways",
                Why = "Relabelled namespaces get their sidecars from the OSSM 3 control plane on restart; the 2.6 control plane ignores them from now on.",
                Actions = actions, Verify = steps[2].Verify, Rollback = rollback,
            });
        }

        // 8. After the migration.
        steps.Add(new MeshMigrationStep
        {
            Number = 8, Title = "After the migration",
            Why = "Once every proxy and gateway runs on OSSM 3, the OSSM 2 resources can go, and authorization can use the end-to-end client identities federation used to hide.",
            Actions = new[]
            {
                new MeshMigrationAction("all", "check the OSSM 3 federation against the clusters (peer roots, remote gateway addresses, ServiceEntries against the remote services, exposed hosts, AuthorizationPolicies naming aliased identities)", $"meshfed check {TopologyFile} --live"),
                new MeshMigrationAction("all", $"remove the OSSM 2.6 control planes and their resources as Red Hat's cleanup guide describes ({CleanupUrl})", ""),
                new MeshMigrationAction("all", "from now on, change the federation in the topology and apply it", $"meshfed apply {TopologyFile}"),
            },
        });
        return steps;
    }

    /// <summary>
    /// A merge patch that undoes <paramref name="patch"/> on <paramref name="previous"/>: old values back, fields that were
    /// absent removed. Only the fields the patch set are touched (a parent it created stays, empty): whatever else was
    /// added under it in the meantime survives the rollback.
    /// </summary>
    private static JsonObject Undo(JsonObject? previous, JsonObject patch)
    {
        var undo = new JsonObject();
        foreach (var (k, v) in patch)
        {
            var old = previous?[k];
            if (v is JsonObject pv && old is null or JsonObject) undo[k] = Undo(old as JsonObject, pv);
            else undo[k] = old?.DeepClone();
        }
        return undo;
    }

    /// <summary>An object as it can be applied again: name, namespace, labels, annotations (without kubectl's last-applied) and spec.</summary>
    private static JsonObject Clean(JsonObject o)
    {
        var md = o["metadata"];
        var annotations = (md?["annotations"] as JsonObject)?.Where(kv => kv.Key != "kubectl.kubernetes.io/last-applied-configuration").ToList();
        return Obj(("apiVersion", o["apiVersion"]?.DeepClone()), ("kind", o["kind"]?.DeepClone()),
            ("metadata", Obj(("name", md?["name"]?.DeepClone()), ("namespace", md?["namespace"]?.DeepClone()), ("labels", md?["labels"]?.DeepClone()),
                ("annotations", annotations is { Count: > 0 } ? Obj(annotations.Select(kv => (kv.Key, kv.Value?.DeepClone())).ToArray()) : null))),
            ("spec", o["spec"]?.DeepClone()));
    }

    // ------------------------------------------------------------------ the plan as Markdown

    private static string Markdown(MeshMigration m)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine(inv, $"# Migrating '{m.Source.Set.Name}' from OSSM 2 federation to OSSM 3 multi-cluster");
        sb.AppendLine();
        sb.AppendLine(inv, $"The steps of Red Hat's Federation-to-Multi-Cluster migration guide ({GuideUrl}) for this federation:");
        sb.AppendLine(inv, $"{string.Join(", ", m.Target.ControlPlanes.Select(c => $"{c.Name} (cluster {c.ClusterName}, namespace {c.Namespace}, trust domain {c.TrustDomain})"))}.");
        sb.AppendLine(inv, $"Run the steps in order; do not start a step before the previous one's checks pass. `{TopologyFile}` declares the OSSM 3 federation; the files under `steps/` are its manifests, split by the step that applies them.");
        sb.AppendLine();
        sb.AppendLine("Imported services keep their OSSM 2 host names, so clients need no change:");
        sb.AppendLine();
        foreach (var s in Ossm3Federation.Services(m.Target).OrderBy(s => s.Importer.Name, StringComparer.Ordinal).ThenBy(s => s.Host, StringComparer.Ordinal))
            sb.AppendLine(inv, $"- {s.Importer.Name}: `{s.Host}` → {s.Exporter.Name} {s.Export.Namespace}/{s.Export.Name}");
        foreach (var step in m.Steps)
        {
            sb.AppendLine();
            sb.AppendLine(inv, $"## Step {step.Number}: {step.Title}");
            sb.AppendLine();
            sb.AppendLine(step.Why);
            if (step.Actions.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("Apply:");
                sb.AppendLine();
                foreach (var a in step.Actions)
                {
                    sb.AppendLine(inv, $"- {a.Cluster}: {a.Description}");
                    if (a.Command.Length > 0) sb.AppendLine(inv, $"  ```shell\n  {a.Command}\n  ```");
                }
            }
            if (step.Verify.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("Verify before the next step:");
                sb.AppendLine();
                foreach (var v in step.Verify)
                    sb.AppendLine(inv, $"- {v.Cluster}: {v.What} — expect {v.Expect}\n  ```shell\n  {v.Command}\n  ```");
            }
            if (step.Rollback.Count > 0)
            {
                sb.AppendLine();
                sb.AppendLine("Roll back:");
                sb.AppendLine();
                sb.AppendLine("```shell");
                foreach (var r in step.Rollback) sb.AppendLine(r);
                sb.AppendLine("```");
            }
        }
        if (m.Manifests.Pending.Count > 0)
        {
            sb.AppendLine();
            sb.AppendLine("## Not known when this plan was made");
            sb.AppendLine();
            foreach (var p in m.Manifests.Pending) sb.AppendLine(inv, $"- {p.Cluster} ({p.Mesh}): {p.What}: `{p.HowToGet}`");
        }
        sb.AppendLine();
        sb.AppendLine("## Notes and caveats");
        sb.AppendLine();
        foreach (var n in m.Notes.Concat(m.Manifests.Warnings)) sb.AppendLine(inv, $"- {n}");
        return sb.ToString();
    }
}
