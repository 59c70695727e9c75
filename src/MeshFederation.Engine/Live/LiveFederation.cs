using System.Text.Json.Nodes;
using MeshFederation.Engine.Diagnostics;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Live;

/// <summary>Settings of live apply and removal.</summary>
public sealed class LiveOptions
{
    /// <summary>Take over fields other field managers own (server-side apply force; -ForceConflicts, --force-conflicts).</summary>
    public bool ForceConflicts { get; init; }

    /// <summary>Requests in flight per cluster.</summary>
    public int ConcurrencyPerCluster { get; init; } = 8;

    /// <summary>Clusters worked on at once.</summary>
    public int MaxParallelClusters { get; init; } = 4;

    /// <summary>How long to wait for control planes to be ready and gateways to get addresses.</summary>
    public TimeSpan WaitTimeout { get; init; } = TimeSpan.FromMinutes(10);

    public TimeSpan PollInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Delete objects this module created for these meshes that the topology no longer contains (-Prune, --prune).</summary>
    public bool Prune { get; init; }

    /// <summary>On removal, keep the control-plane namespaces this module created.</summary>
    public bool KeepNamespaces { get; init; }

    /// <summary>How long deletions are waited for before what is still there is reported as terminating.</summary>
    public TimeSpan DeleteTimeout { get; init; } = TimeSpan.FromMinutes(2);
}

/// <summary>
/// Federation against live clusters: read what only the clusters know (root certificates, gateway addresses), plan
/// (create, update, unchanged, delete per object), apply in dependency order on all clusters in parallel, wait for
/// control planes, and remove exactly what this module created.
/// </summary>
public sealed class LiveFederation
{
    private static readonly (string ApiVersion, string Kind)[] ManagedKinds =
    {
        ("v1", "ConfigMap"), ("v1", "Service"), ("maistra.io/v1", "ServiceMeshMemberRoll"), ("federation.maistra.io/v1", "ServiceMeshPeer"),
        ("federation.maistra.io/v1", "ExportedServiceSet"), ("federation.maistra.io/v1", "ImportedServiceSet"),
        ("networking.istio.io/v1beta1", "VirtualService"), ("maistra.io/v2", "ServiceMeshControlPlane"),
        ("networking.istio.io/v1beta1", "DestinationRule"), // OSSM 2 locality failover
    };

    /// <summary>What the Istio styles create besides the kinds above (pruned and removed the same way).</summary>
    private static readonly (string ApiVersion, string Kind)[] IstioManagedKinds =
    {
        ("v1", "Secret"), ("v1", "ServiceAccount"), ("apps/v1", "Deployment"), ("policy/v1", "PodDisruptionBudget"), ("autoscaling/v2", "HorizontalPodAutoscaler"),
        ("rbac.authorization.k8s.io/v1", "Role"), ("rbac.authorization.k8s.io/v1", "RoleBinding"), ("rbac.authorization.k8s.io/v1", "ClusterRole"),
        ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ("sailoperator.io/v1", "Istio"), ("sailoperator.io/v1", "IstioCNI"),
        ("networking.istio.io/v1", "Gateway"), ("networking.istio.io/v1", "ServiceEntry"),
        ("networking.istio.io/v1", "WorkloadEntry"), ("gateway.networking.k8s.io/v1", "Gateway"), // OSSM 3 federation
    };

    private static IEnumerable<(string ApiVersion, string Kind)> KindsFor(FederationSet set) =>
        set.ControlPlanes.Any(c => c.Style != MeshStyle.Ossm2) ? ManagedKinds.Concat(IstioManagedKinds) : ManagedKinds;

    private const string ManagedSelector = JsonBuilder.ManagedByLabel + "=" + JsonBuilder.ManagedByValue;

    private readonly ClusterConnections _connections;
    private readonly LiveOptions _options;
    private readonly IMeshLog _log;

    public LiveFederation(ClusterConnections connections, LiveOptions? options = null, IMeshLog? log = null)
    {
        _connections = connections;
        _options = options ?? new LiveOptions();
        _log = log ?? NullMeshLog.Instance;
    }

    private KubeClient Client(MeshControlPlane cp) => _connections.For(cp.Cluster);

    /// <summary>Server-side apply takes over fields other managers own (dry runs and applies alike).</summary>
    private bool ForceConflicts => _options.ForceConflicts;

    // ------------------------------------------------------------------ resolve

    /// <summary>
    /// Seed 001's manual steps: each mesh's root certificate (istio-ca-root-cert) and each peer ingress gateway's
    /// address (LoadBalancer ip/hostname, or node addresses for NodePort), filled into a copy of the set.
    /// </summary>
    public async Task<FederationSet> ResolveAsync(FederationSet set, CancellationToken cancellationToken)
    {
        var roots = new Dictionary<string, string?>(StringComparer.Ordinal);
        var rootTasks = set.ControlPlanes.Where(cp => cp.Style == MeshStyle.Ossm2 && set.Peerings.Any(p => p.Remote == cp && p.CaBundle is null))
            .Select(async cp => (cp.Name, Pem: await ReadRootAsync(cp, cancellationToken).ConfigureAwait(false)));
        var addressTasks = set.Peerings.Where(p => p.RemoteAddresses.Count == 0 && p.Remote.Style is not (MeshStyle.MultiPrimary or MeshStyle.Ossm3Federation))
            .Select(async p => (Peering: p, Addresses: await ReadAddressesAsync(p, cancellationToken).ConfigureAwait(false)));
        // One read per remote cluster, for all the remote secrets that point at it.
        var apiTasks = set.Peerings.Where(p => p.Local.Style == MeshStyle.MultiPrimary && p.RemoteApi is null).GroupBy(p => p.Remote.Name, StringComparer.Ordinal)
            .Select(async g => (Remote: g.Key, Api: await ReadRemoteApiAsync(g.First().Remote, g.Select(p => p.Local).ToList(), cancellationToken).ConfigureAwait(false)));
        var apiResults = (await Task.WhenAll(apiTasks).ConfigureAwait(false)).ToDictionary(x => x.Remote, x => x.Api, StringComparer.Ordinal);
        var rootResults = await Task.WhenAll(rootTasks).ConfigureAwait(false);
        var addressResults = (await Task.WhenAll(addressTasks).ConfigureAwait(false)).ToDictionary(x => x.Peering, x => x.Addresses);
        foreach (var (name, pem) in rootResults) roots[name] = pem;

        var resolved = new FederationSet { Name = set.Name };
        foreach (var cp in set.ControlPlanes) resolved.Add(cp);
        foreach (var p in set.Peerings)
        {
            addressResults.TryGetValue(p, out var addresses);
            roots.TryGetValue(p.Remote.Name, out var pem);
            var api = p.Local.Style == MeshStyle.MultiPrimary && p.RemoteApi is null ? apiResults.GetValueOrDefault(p.Remote.Name) : default;
            resolved.Add(p.WithResolved(addresses is { Count: > 0 } ? addresses : null, pem, api.Access).WithRotatedReader(api.Rotated));
        }
        foreach (var o in set.Exports.Cast<object>().Concat(set.Imports).Concat(set.TrafficSplits).Concat(set.ProxyConfigs).Concat(set.FailoverPolicies).Concat(set.CaMaterial)) resolved.Add(o);
        if (set.PendingProxy is not null && set.ProxyConfigs.Count == 0)
        {
            var (peerings, ports) = await ReadProxyInputsAsync(set.Peerings, cancellationToken).ConfigureAwait(false);
            resolved.Add(Proxy.ProxyBuilder.Build(peerings, set.PendingProxy with { NodePortOverrides = ports }));
        }
        return await Ossm3FederationLive.ResolveAsync(resolved, Client, _log, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The set for naming purposes only (a pending proxy changes addresses and ports, never object names).</summary>
    private static FederationSet WithoutPendingProxy(FederationSet set)
    {
        if (set.PendingProxy is null) return set;
        var copy = new FederationSet { Name = set.Name };
        foreach (var o in set.AllObjects()) copy.Add(o);
        return copy;
    }

    /// <summary>
    /// What istioctl create-remote-secret reads: the remote API server (its binding's apiServer, else the kubeconfig's
    /// server and CA) and the reader token: the one a remote-secret rotation put in force (issue 18: its record in the
    /// remote cluster, ownership proven; a bound token is found in the remote secrets of <paramref name="locals"/>),
    /// else the one the token controller put into the reader token Secret this module renders.
    /// </summary>
    private async Task<(RemoteApiAccess? Access, Rotation.RotatedReader? Rotated)> ReadRemoteApiAsync(MeshControlPlane remote, IReadOnlyList<MeshControlPlane> locals, CancellationToken cancellationToken)
    {
        var client = Client(remote);
        var secretTask = client.GetAsync("v1", "Secret", remote.Namespace, IstioRenderer.ReaderTokenSecret, cancellationToken);
        var rotatedTask = Rotation.ReaderCredential.CurrentAsync(client, remote.Name, remote.Namespace, remote.ClusterName,
            locals.Select(l => (Client(l), l.ClusterName, l.Namespace)).ToList(), _connections.Yaml, _log, cancellationToken);
        await Task.WhenAll(secretTask, rotatedTask).ConfigureAwait(false);
        var secret = await secretTask.ConfigureAwait(false);
        var rotated = await rotatedTask.ConfigureAwait(false);
        var ctx = client.Context;
        var server = remote.Cluster.ApiServer ?? ctx.Server.ToString().TrimEnd('/');
        string? Ca(JsonObject? s) => ctx.CertificateAuthorityPem is { } pem ? Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(pem)) : s?["data"]?["ca.crt"]?.GetValue<string>();
        if (rotated is not null)
        {
            _log.Verbose($"{remote.Name}: remote secret will point at {server} with the reader credential in force: {rotated}");
            return (new RemoteApiAccess(server, Ca(secret), rotated.ExportToken()), rotated);
        }
        if (secret?["data"]?["token"]?.GetValue<string>() is not { Length: > 0 } token64)
        {
            _log.Verbose($"{remote.Name}: the reader token ({remote.Namespace}/{IstioRenderer.ReaderTokenSecret}) is not issued yet");
            return (null, null);
        }
        _log.Verbose($"{remote.Name}: remote secret will point at {server} with the {IstioRenderer.ReaderServiceAccount} token");
        return (new RemoteApiAccess(server, Ca(secret), System.Text.Encoding.UTF8.GetString(Convert.FromBase64String(token64))), null);
    }

    private async Task<string?> ReadRootAsync(MeshControlPlane cp, CancellationToken cancellationToken)
    {
        var cm = await Client(cp).GetAsync("v1", "ConfigMap", cp.Namespace, "istio-ca-root-cert", cancellationToken).ConfigureAwait(false);
        var pem = cm?["data"]?[Names.RootCertKey]?.GetValue<string>();
        _log.Verbose(pem is null ? $"{cp.Name}: istio-ca-root-cert not found yet in {cp.Namespace}" : $"{cp.Name}: read root certificate from {cp.Namespace}/istio-ca-root-cert");
        if (pem is null) return null;
        // During a peer root rotation of this mesh (issue 18) its peers keep the old and the new root.
        var state = await Client(cp).GetAsync("v1", "ConfigMap", cp.Namespace, Rotation.PeerRootRotation.StateConfigMap, cancellationToken).ConfigureAwait(false);
        var bundle = Rotation.PeerRootRotation.PeersBundle(pem, state, Client(cp).FieldManager);
        if (!ReferenceEquals(bundle, pem)) _log.Verbose($"{cp.Name}: its peer root rotation is in progress: the peers keep its old and new roots");
        return bundle;
    }

    private async Task<IReadOnlyList<string>> ReadAddressesAsync(MeshPeering p, CancellationToken cancellationToken)
    {
        var remote = p.Remote;
        if (remote.GatewayExposure == GatewayExposure.NodePort)
        {
            if (remote.NodeAddresses.Count > 0) return remote.NodeAddresses;
            var nodes = await Client(remote).ListAsync("v1", "Node", null, null, cancellationToken).ConfigureAwait(false);
            var addresses = nodes.SelectMany(n => (n["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Where(a => a["type"]?.GetValue<string>() == "InternalIP").Select(a => a["address"]!.GetValue<string>()).Distinct().ToList();
            _log.Verbose($"{remote.Name}: node addresses {string.Join(", ", addresses)}");
            return addresses;
        }
        var gateway = remote.IngressGatewayFor(p.Local.Name);
        var svc = await Client(remote).GetAsync("v1", "Service", remote.Namespace, gateway, cancellationToken).ConfigureAwait(false);
        var ingress = (svc?["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>();
        var result = ingress.Select(i => i["ip"]?.GetValue<string>() ?? i["hostname"]?.GetValue<string>()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToList();
        _log.Verbose(result.Count == 0 ? $"{remote.Name}: Service {remote.Namespace}/{gateway} has no LoadBalancer address yet" : $"{remote.Name}: {gateway} is reached at {string.Join(", ", result)}");
        return result;
    }

    /// <summary>
    /// For a bare-metal proxy: the node addresses of NodePort meshes that have none (InternalIP of every node) and the
    /// node ports the clusters actually assigned to the gateways' NodePort Services, when those exist.
    /// </summary>
    public async Task<(IReadOnlyList<MeshPeering> Peerings, IReadOnlyDictionary<(string Mesh, string Peer), Proxy.GatewayNodePorts> NodePorts)> ReadProxyInputsAsync(
        IReadOnlyList<MeshPeering> peerings, CancellationToken cancellationToken)
    {
        var cps = peerings.SelectMany(p => new[] { p.Local, p.Remote }).Distinct().ToList();
        var nodeTasks = cps.Where(c => c.GatewayExposure == GatewayExposure.NodePort && c.NodeAddresses.Count == 0)
            .Select(async cp =>
            {
                var nodes = await Client(cp).ListAsync("v1", "Node", null, null, cancellationToken).ConfigureAwait(false);
                var addresses = nodes.SelectMany(n => (n["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    .Where(a => a["type"]?.GetValue<string>() == "InternalIP").Select(a => a["address"]!.GetValue<string>()).Distinct().ToList();
                _log.Verbose($"{cp.Name}: {addresses.Count} node addresses");
                return (cp, addresses);
            });
        var portTasks = peerings.Where(p => p.Local.GatewayExposure == GatewayExposure.NodePort).Select(async p =>
        {
            var svc = await Client(p.Local).GetAsync("v1", "Service", p.Local.Namespace, Proxy.NodePortServices.ServiceName(p.IngressGateway), cancellationToken).ConfigureAwait(false);
            var ports = (svc?["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().ToList();
            int? Port(string name) => ports?.FirstOrDefault(x => x["name"]?.GetValue<string>() == name)?["nodePort"]?.GetValue<int>();
            return (p, Discovery: Port("https-discovery"), Service: Port("tls"));
        });
        var nodes = (await Task.WhenAll(nodeTasks).ConfigureAwait(false)).ToDictionary(x => x.cp, x => x.addresses);
        var ports = await Task.WhenAll(portTasks).ConfigureAwait(false);
        var rebound = cps.ToDictionary(c => c, c => nodes.TryGetValue(c, out var a) ? c.WithNodeAddresses(a) : c);
        var overrides = ports.Where(x => x.Discovery is not null && x.Service is not null)
            .ToDictionary(x => (x.p.Local.Name, x.p.Remote.Name), x => new Proxy.GatewayNodePorts(x.p.Local.Name, x.p.Remote.Name, x.Discovery!.Value, x.Service!.Value));
        return (peerings.Select(p => p.Rebind(rebound[p.Local], rebound[p.Remote])).ToList(), overrides);
    }

    // ------------------------------------------------------------------ connect

    /// <summary>
    /// Connects to every cluster of the set and reads the discovery of the kinds a plan needs, all clusters at once, and
    /// writes nothing; whatever fails is left for the plan, which repeats it and reports it. meshfed apply and plan start
    /// this while the topology is still being judged offline, so that the TLS handshakes and the discovery round trip
    /// overlap that work. Clusters whose credentials come from an exec plugin are left for the plan (a plugin may ask
    /// the user something; it runs only once the topology is known to be good). Never throws.
    /// </summary>
    public async Task ConnectAsync(FederationSet set, CancellationToken cancellationToken)
    {
        try
        {
            var tasks = new List<Task>();
            foreach (var cp in set.ControlPlanes.DistinctBy(c => c.ClusterName, StringComparer.Ordinal))
            {
                var client = Client(cp);
                if (client.Context.Exec is not null) continue;
                tasks.AddRange(KindsFor(set).Select(k => k.ApiVersion).Distinct(StringComparer.Ordinal).Select(v => client.ResourcesAsync(v, cancellationToken)));
            }
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _log.Debug($"connect ahead of the plan: {ex.GetType().Name} (the plan repeats what failed)");
        }
    }

    // ------------------------------------------------------------------ plan

    /// <summary>
    /// Plans an apply as kubectl diff does: preflight (are the kinds served?), reads, then a server-side dry run of every
    /// object (strict field validation: unknown fields and schema errors fail here, before anything is written) whose
    /// result is compared with the live object, so that what the server adds (defaults, allocated ports, canonical
    /// quantities) is never a change. Objects to prune are this module's only; labelled objects it did not create are
    /// left alone.
    /// </summary>
    public async Task<FederationPlan> PlanAsync(FederationSet set, CancellationToken cancellationToken)
    {
        set.EnsureValid();
        var draft = Ossm2Renderer.Render(WithoutPendingProxy(set));
        _log.Debug("plan: draft rendered");
        // Round trip 1: discovery (is every kind served?).
        await PreflightAsync(set, draft, cancellationToken).ConfigureAwait(false);
        _log.Debug("plan: discovery done");

        // Round trip 2, all in parallel: application namespaces, roots and gateway addresses, the live objects (their
        // names do not depend on what is read), and the objects to prune.
        var keys = draft.AllManifests.Select(m => (Cp: set.FindControlPlane(m.Mesh)!, m.ApiVersion, m.Kind, m.Namespace, m.Name)).ToList();
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm2)) keys.Add((p.Local, "v1", "ConfigMap", p.Local.Namespace, p.CaConfigMap));
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.MultiPrimary)) keys.Add((p.Local, "v1", "Secret", p.Local.Namespace, IstioRenderer.RemoteSecretName(p.Remote.ClusterName)));
        foreach (var cp in set.ControlPlanes.Where(c => c.Style != MeshStyle.Ossm2)) keys.Add((cp, "v1", "Secret", cp.Namespace, IstioRenderer.CaSecret));
        keys = keys.Distinct().ToList();
        var liveTask = Task.WhenAll(keys.Select(async k => (Key: $"{k.Cp.ClusterName}|{k.ApiVersion.Split('/')[0]}|{k.Kind}|{k.Namespace}|{k.Name}",
            Live: await Client(k.Cp).GetAsync(k.ApiVersion, k.Kind, k.Namespace, k.Name, cancellationToken).ConfigureAwait(false))));
        var namespaceTask = CheckApplicationNamespacesAsync(set, draft, cancellationToken);
        var resolveTask = ResolveAsync(set, cancellationToken);
        var pruneTask = _options.Prune ? ListManagedAsync(set, cancellationToken) : Task.FromResult(new List<Managed>());
        await Task.WhenAll(liveTask, namespaceTask, resolveTask, pruneTask).ConfigureAwait(false);
        var (namespaceProblems, appNamespaces) = await namespaceTask.ConfigureAwait(false);
        namespaceProblems.ThrowIfAny();
        var live = (await liveTask.ConfigureAwait(false)).DistinctBy(x => x.Key).ToDictionary(x => x.Key, x => x.Live, StringComparer.Ordinal);
        _log.Debug("plan: reads done");

        // A namespace being deleted takes everything applied into it along: refuse before anything is written.
        var terminating = new ProblemList();
        var namespaces = draft.AllManifests.Where(m => m.Kind == "Namespace")
            .Select(m => (Cp: set.FindControlPlane(m.Mesh)!, Obj: live.GetValueOrDefault($"{m.Cluster}|v1|Namespace||{m.Name}")))
            .Concat(appNamespaces.Select(a => (a.Cp, Obj: (JsonObject?)a.Namespace)))
            .Where(x => x.Obj?["metadata"]?["deletionTimestamp"] is not null).DistinctBy(x => (x.Cp.ClusterName, x.Obj!["metadata"]!["name"]!.GetValue<string>()));
        foreach (var (cp, ns) in namespaces)
            terminating.Add(MeshErrorKind.Conflict, $"cluster '{cp.ClusterName}' namespace", ns!["metadata"]!["name"]!.GetValue<string>(),
                $"is Terminating (deletion requested at {ns["metadata"]!["deletionTimestamp"]}): whatever is applied into it is deleted with it{TerminatingDetail(ns)}",
                "wait until the namespace is gone (kubectl get namespace NAME) and run again, or find what holds it (its status conditions name the finalizers)", null, cp);
        terminating.ThrowIfAny();

        var result = Ossm2Renderer.Render(await resolveTask.ConfigureAwait(false));
        _log.Debug("plan: resolved set rendered");
        // Objects rendered without a value only the clusters can give (peer addresses, ServiceEntry endpoints) wait for it.
        var pendingFields = result.Pending.Where(p => p.Defers || p.What.StartsWith("ServiceMeshPeer", StringComparison.Ordinal) || p.What.StartsWith("ServiceEntry", StringComparison.Ordinal)).ToList();
        var existingNamespaces = live.Where(kv => kv.Value is not null && kv.Key.Split('|')[2] == "Namespace").Select(kv => (kv.Key.Split('|')[0], kv.Key.Split('|')[4]))
            .Concat(appNamespaces.Select(a => (a.Cp.ClusterName, a.Namespace["metadata"]!["name"]!.GetValue<string>()))).ToHashSet();
        var candidates = result.AllManifests.Select(m =>
        {
            var key = $"{m.Cluster}|{m.ApiVersion.Split('/')[0]}|{m.Kind}|{m.Namespace}|{m.Name}";
            var current = live.GetValueOrDefault(key);
            var deferred = pendingFields.Any(p => p.Mesh == m.Mesh && p.What.StartsWith($"{m.Kind} {m.Namespace}/{m.Name} ", StringComparison.Ordinal));
            var (owned, record) = current is null ? (true, Ownership.NewRecord())
                : Ownership.IsOwned(current, FieldManager(set, m.Mesh)) ? (true, Ownership.RecordOf(current)) : (false, null);
            var desired = record is null ? m.Content : Ownership.Claim(m.Content, record);
            return (Manifest: m, Key: key, Live: current, Deferred: deferred, Owned: owned, Record: record, Desired: desired);
        }).ToList();

        // Round trip 3: a server-side dry run of every object that can be rendered now, all in parallel.
        var dryRuns = await Task.WhenAll(candidates.Select(async c => c.Deferred ? default
            : await DryRunAsync(set.FindControlPlane(c.Manifest.Mesh)!, c.Desired, c.Live, existingNamespaces, cancellationToken).ConfigureAwait(false))).ConfigureAwait(false);
        _log.Debug("plan: dry runs done");
        var invalid = new ProblemList();
        var items = new List<PlanItem>();
        for (var i = 0; i < candidates.Count; i++)
        {
            var c = candidates[i];
            var m = c.Manifest;
            var dry = dryRuns[i];
            if (dry.Invalid is not null)
            {
                invalid.Add(MeshErrorKind.InvalidData, $"cluster '{m.Cluster}' {m.Kind} {(m.Namespace is null ? "" : m.Namespace + "/")}{m.Name}", dry.Field,
                    $"is refused by the API server: {dry.Invalid}", FixFor(m, dry.Field), null, set.FindControlPlane(m.Mesh));
                continue;
            }
            var (action, reason) = c.Live is null ? (PlanAction.Create, "does not exist")
                : dry.Conflict is not null ? (PlanAction.Update, $"{dry.Conflict}; apply fails unless conflicts are forced")
                : dry.Result is null ? Compare(c.Desired, c.Live)
                : CompareDryRun(dry.Result, c.Live);
            items.Add(new PlanItem
            {
                Cluster = m.Cluster, Mesh = m.Mesh, Action = action, ApiVersion = m.ApiVersion, Kind = m.Kind, Namespace = m.Namespace, Name = m.Name,
                Level = set.FindControlPlane(m.Mesh)!.Style == MeshStyle.Ossm2 ? PlanItem.LevelOf(m.Kind) : IstioLevel(m.Order), Desired = c.Desired, Deferred = c.Deferred,
                Owned = c.Owned, CreationRecord = c.Record,
                Reason = c.Deferred ? (result.Pending.FirstOrDefault(p => p.Defers && p.Mesh == m.Mesh && p.What.StartsWith($"{m.Kind} {m.Namespace}/{m.Name} ", StringComparison.Ordinal)) is { } why ? "waits for " + why.What[(why.What.IndexOf(' ', $"{m.Kind} ".Length) + 1)..]
                    : m.Kind == "ServiceEntry" ? "endpoints read once the remote gateway has an address" : "remote.addresses read once the peer's ingress gateway has an address") : reason,
            });
        }
        invalid.ThrowIfAny();

        // Root certificates not readable yet: the peer CA ConfigMaps are created once the remote control plane is ready.
        foreach (var p in result.Pending.Where(p => p.What.StartsWith("ConfigMap", StringComparison.Ordinal)))
        {
            var cp = set.FindControlPlane(p.Mesh)!;
            var name = p.What.Split(' ')[1].Split('/')[1];
            var current = live.GetValueOrDefault($"{p.Cluster}|v1|ConfigMap|{cp.Namespace}|{name}");
            items.Add(Deferred(p.Cluster, p.Mesh, current, "ConfigMap", cp.Namespace, name, 1, set,
                "content read from the peer's istio-ca-root-cert once its control plane is ready"));
        }

        // Remote secrets: written once the remote cluster has issued the reader token.
        foreach (var p in result.Pending.Where(p => p.What.StartsWith("Secret", StringComparison.Ordinal) && p.What.Contains(IstioRenderer.RemoteSecretPrefix, StringComparison.Ordinal)))
        {
            var cp = set.FindControlPlane(p.Mesh)!;
            var name = p.What.Split(' ')[1].Split('/')[1];
            var current = live.GetValueOrDefault($"{p.Cluster}|v1|Secret|{cp.Namespace}|{name}");
            items.Add(Deferred(p.Cluster, p.Mesh, current, "Secret", cp.Namespace, name, 3, set,
                "kubeconfig with the remote API server and reader token, read once the remote cluster issued the token"));
        }

        // cacerts cannot be read from anywhere: without it istiod self-signs and the clusters do not trust each other.
        var missingCa = result.Pending.Where(p => p.What.Contains($"/{IstioRenderer.CaSecret} ", StringComparison.Ordinal))
            .Where(p => live.GetValueOrDefault($"{p.Cluster}|v1|Secret|{set.FindControlPlane(p.Mesh)!.Namespace}|{IstioRenderer.CaSecret}") is null).ToList();
        if (missingCa.Count > 0)
            throw new MeshFederationException(missingCa.Select(p => new MeshProblem(MeshErrorKind.NotFound, $"cluster '{p.Cluster}' cacerts", p.What,
                "is neither in the topology nor in the cluster; istiod would self-sign and the clusters would not trust each other",
                $"issue the intermediates under one root ({p.HowToGet})")).ToList());

        var wanted = result.AllManifests.Select(m => $"{m.Cluster}|{m.ApiVersion.Split('/')[0]}|{m.Kind}|{m.Namespace}|{m.Name}").ToHashSet(StringComparer.Ordinal);
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.Ossm2)) wanted.Add($"{p.Local.ClusterName}|v1|ConfigMap|{p.Local.Namespace}|{p.CaConfigMap}");
        foreach (var p in set.Peerings.Where(p => p.Local.Style == MeshStyle.MultiPrimary)) wanted.Add($"{p.Local.ClusterName}|v1|Secret|{p.Local.Namespace}|{IstioRenderer.RemoteSecretName(p.Remote.ClusterName)}");
        // A remote-secret rotation's record and the token Secret it put in force are in use, not stale.
        foreach (var p in (await resolveTask.ConfigureAwait(false)).Peerings.Where(p => p.RotatedReader is not null))
        {
            wanted.Add($"{p.Remote.ClusterName}|v1|ConfigMap|{p.Remote.Namespace}|{Rotation.ReaderCredential.StateConfigMap}");
            if (p.RotatedReader!.TokenSecret is { } tokenSecret) wanted.Add($"{p.Remote.ClusterName}|v1|Secret|{p.Remote.Namespace}|{tokenSecret}");
        }
        items.AddRange((await pruneTask.ConfigureAwait(false)).Where(f => !wanted.Contains(f.Key)).Select(f => new PlanItem
        {
            Cluster = f.Cluster, Mesh = f.Mesh, Action = f.NotOwned is null ? PlanAction.Delete : PlanAction.Keep, ApiVersion = f.ApiVersion, Kind = f.Kind, Namespace = f.Namespace, Name = f.Name,
            Level = f.Level, Owned = f.NotOwned is null,
            Reason = f.NotOwned is null ? "created by meshfederation for this mesh, no longer in the topology" : $"left alone: it carries meshfederation's labels but {f.NotOwned}",
        }));

        var levels = items.Where(i => i.Action is PlanAction.Create or PlanAction.Update && !i.Deferred).Select(i => i.Level).Distinct().Count();
        return new FederationPlan
        {
            Items = items.OrderBy(i => i.Cluster, StringComparer.Ordinal).ThenBy(i => i.Action is PlanAction.Delete or PlanAction.Keep ? 9 : i.Level).ThenBy(i => i.Kind, StringComparer.Ordinal).ThenBy(i => i.Namespace, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal).ToList(),
            // discovery + one round of parallel reads + one round of parallel dry runs + one round trip per apply level
            // (+ one for deletions, whose end is awaited too); waiting for control planes overlaps the later levels.
            DependencyDepth = 3 + levels + (items.Any(i => i.Action == PlanAction.Delete) ? 2 : 0),
        };
    }

    /// <summary>The field manager of a mesh's cluster (all clusters use the client options' manager).</summary>
    private string FieldManager(FederationSet set, string mesh) => Client(set.FindControlPlane(mesh)!).FieldManager;

    private PlanItem Deferred(string cluster, string mesh, JsonObject? current, string kind, string ns, string name, int level, FederationSet set, string reason)
    {
        var owned = current is null || Ownership.IsOwned(current, FieldManager(set, mesh));
        return new PlanItem
        {
            Cluster = cluster, Mesh = mesh, Action = current is null ? PlanAction.Create : PlanAction.Update, ApiVersion = "v1", Kind = kind, Namespace = ns, Name = name,
            Level = level, Deferred = true, Reason = reason, Owned = owned,
            CreationRecord = current is null ? Ownership.NewRecord() : owned ? Ownership.RecordOf(current) : null,
        };
    }

    private static string FixFor(RenderedManifest m, string? field) =>
        m.Kind is "ServiceMeshControlPlane" or "Istio" or "IstioCNI" && field?.StartsWith(".spec", StringComparison.Ordinal) == true
            ? $"fix or drop {field} in the mesh's overrides (topology); if the field is right, the cluster runs an older {m.ApiVersion} {m.Kind} CRD than the schemas meshfederation checks with: upgrade its operator. Nothing was written"
            : $"fix {field ?? "the object"} in the topology, or upgrade the operator whose CRD the cluster runs. Nothing was written";

    /// <summary>What the namespace's status says still holds it.</summary>
    private static string TerminatingDetail(JsonObject ns)
    {
        var messages = (ns["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>()
            .Where(c => c["status"]?.GetValue<string>() == "True" && c["type"]?.GetValue<string>() is "NamespaceContentRemaining" or "NamespaceFinalizersRemaining")
            .Select(c => c["message"]?.GetValue<string>()).Where(m => !string.IsNullOrEmpty(m)).ToList();
        return messages is { Count: > 0 } ? $" ({string.Join("; ", messages)})" : "";
    }

    private readonly record struct DryRun(JsonObject? Result, string? Invalid, string? Field, string? Conflict);

    /// <summary>
    /// Server-side apply with dryRun=All and fieldValidation=Strict. An object whose namespace does not exist yet (it is
    /// created by the first level) is dry-run in "default" instead: validation does not depend on the namespace.
    /// </summary>
    private async Task<DryRun> DryRunAsync(MeshControlPlane cp, JsonObject desired, JsonObject? live, HashSet<(string, string)> existingNamespaces, CancellationToken cancellationToken)
    {
        var ns = desired["metadata"]?["namespace"]?.GetValue<string>();
        var body = desired;
        var substitute = live is null && ns is not null && !existingNamespaces.Contains((cp.ClusterName, ns));
        if (substitute)
        {
            body = (JsonObject)desired.DeepClone();
            body["metadata"]!["namespace"] = "default";
        }
        try
        {
            var (obj, _) = await Client(cp).ApplyAsync(body, ForceConflicts, dryRun: true, cancellationToken).ConfigureAwait(false);
            return new DryRun(substitute ? null : obj, null, null, null);
        }
        catch (KubeApiException e) when (e.StatusCode is System.Net.HttpStatusCode.BadRequest or System.Net.HttpStatusCode.UnprocessableEntity)
        {
            var message = e.ApiMessage ?? e.Message;
            var field = System.Text.RegularExpressions.Regex.Match(message, @"(?<![\w.])\.?(?:spec|metadata|data|stringData|binaryData|rules|subjects|roleRef)(?:[.\[][\w.\[\]=""/,-]*)?(?=[:\s""]|$)").Value;
            if (substitute) message = message.Replace("\"default\"", $"\"{ns}\"", StringComparison.Ordinal);
            return new DryRun(null, message, field.Length == 0 ? null : (field.StartsWith('.') ? field : "." + field).TrimEnd(':', '"'), null);
        }
        catch (KubeApiException e) when (e.StatusCode == System.Net.HttpStatusCode.Conflict && e.Reason == "Conflict")
        {
            return new DryRun(null, null, null, e.ApiMessage ?? e.Message);
        }
        catch (KubeApiException e) when (!substitute && e.StatusCode == System.Net.HttpStatusCode.Forbidden)
        {
            // A dry run needs the right to write (patch); a read-only user still gets a plan, compared client-side.
            _log.Warning($"{cp.ClusterName}: no permission to dry-run {desired["kind"]} {(ns is null ? "" : ns + "/")}{desired["metadata"]!["name"]} ({e.ApiMessage ?? e.Reason}); it is compared client-side, so server defaults may show as changes");
            return default;
        }
        catch (KubeApiException e) when (substitute && e.StatusCode is System.Net.HttpStatusCode.NotFound or System.Net.HttpStatusCode.Forbidden)
        {
            // No "default" namespace to validate in (or no right to write there): the apply itself validates.
            _log.Verbose($"{cp.ClusterName}: {desired["kind"]} {ns}/{desired["metadata"]!["name"]} not dry-run ({e.Reason}); its namespace is created first");
            return default;
        }
    }

    /// <summary>
    /// Istio styles apply in four rounds: namespaces; cacerts (istiod must find it when it starts); control plane,
    /// gateway and reader identity; then what needs those (the reader's token Secret after its ServiceAccount, or the
    /// token controller deletes it; Gateways, ServiceEntries, rules).
    /// </summary>
    private static int IstioLevel(int order) => order switch
    {
        <= Ossm2Renderer.OrderNamespace => 0,
        <= Ossm2Renderer.OrderCaConfigMap => 1,
        <= Ossm2Renderer.OrderMemberRoll => 2,
        _ => 3,
    };

    private async Task PreflightAsync(FederationSet set, RenderResult draft, CancellationToken cancellationToken)
    {
        var problems = new ProblemList();
        // Warm discovery for the kinds pruning lists too, so the next round of reads needs no discovery of its own.
        var warm = set.ControlPlanes.DistinctBy(c => c.ClusterName)
            .SelectMany(cp => KindsFor(set).Select(k => Client(cp).FindAsync(k.ApiVersion, k.Kind, cancellationToken))).ToList();
        var checks = draft.AllManifests.Select(m => (Cp: set.FindControlPlane(m.Mesh)!, m.ApiVersion, m.Kind)).Distinct()
            .Select(async x => (x.Cp, x.ApiVersion, x.Kind, Served: await Client(x.Cp).FindAsync(x.ApiVersion, x.Kind, cancellationToken).ConfigureAwait(false)));
        var results = await Task.WhenAll(checks).ConfigureAwait(false);
        await Task.WhenAll(warm).ConfigureAwait(false);
        foreach (var (cp, apiVersion, kind, served) in results)
            if (served is null)
                problems.Add(MeshErrorKind.NotFound, $"cluster '{cp.ClusterName}'", $"{kind} ({apiVersion})", "is not served by the cluster",
                    apiVersion.StartsWith("maistra.io", StringComparison.Ordinal) || apiVersion.StartsWith("federation.maistra.io", StringComparison.Ordinal)
                        ? "install the OpenShift Service Mesh 2 operator (2.1 or later) in that cluster"
                        : apiVersion.StartsWith("networking.istio.io", StringComparison.Ordinal) ? "install Istio (its CRDs) in that cluster"
                        : apiVersion.StartsWith("gateway.networking.k8s.io", StringComparison.Ordinal) ? "use OpenShift 4.19 or later (it ships the Gateway API), or install the Gateway API CRDs (standard channel)"
                        : "install the operator that provides it", null, cp);
        problems.ThrowIfAny();
    }

    /// <summary>Application namespaces (traffic splits) belong to the user: they must exist; control-plane namespaces are created.</summary>
    private async Task<(ProblemList Problems, List<(MeshControlPlane Cp, JsonObject Namespace)> Found)> CheckApplicationNamespacesAsync(FederationSet set, RenderResult draft, CancellationToken cancellationToken)
    {
        var problems = new ProblemList();
        var created = draft.AllManifests.Where(m => m.Kind == "Namespace").Select(m => (m.Cluster, m.Name)).ToHashSet();
        var appNamespaces = draft.AllManifests.Where(m => m.Namespace is not null && !created.Contains((m.Cluster, m.Namespace)))
            .Select(m => (Cp: set.FindControlPlane(m.Mesh)!, Ns: m.Namespace!, m.Reference)).DistinctBy(x => (x.Cp.ClusterName, x.Ns)).ToList();
        var exists = await Task.WhenAll(appNamespaces.Select(async x => (x.Cp, x.Ns, x.Reference,
            Found: await Client(x.Cp).GetAsync("v1", "Namespace", null, x.Ns, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
        foreach (var (cp, ns, reference, _) in exists.Where(e => e.Found is null))
            problems.Add(MeshErrorKind.NotFound, $"cluster '{cp.ClusterName}' namespace", ns, $"does not exist, and {reference} goes there",
                "create the application's namespace (and deploy the application) first", null, cp);
        return (problems, exists.Where(e => e.Found is not null).Select(e => (e.Cp, e.Found!)).ToList());
    }

    private sealed record Managed(string Cluster, string Mesh, string ApiVersion, string Kind, string? Namespace, string Name, int Level, string? NotOwned, bool OurFields)
    {
        public string Key => $"{Cluster}|{ApiVersion.Split('/')[0]}|{Kind}|{Namespace}|{Name}";
    }

    /// <summary>Every object carrying this module's labels for the set's meshes, in every cluster of the set, with whether it is ours.</summary>
    private async Task<List<Managed>> ListManagedAsync(FederationSet set, CancellationToken cancellationToken, bool includeNamespaces = false)
    {
        var byCluster = set.ControlPlanes.GroupBy(c => c.ClusterName, StringComparer.Ordinal);
        var tasks = new List<Task<List<Managed>>>();
        foreach (var cluster in byCluster)
        {
            var meshes = cluster.Select(c => c.Name).ToList();
            var selector = $"{ManagedSelector},{JsonBuilder.MeshLabel} in ({string.Join(",", meshes)})";
            var cp = cluster.First();
            var kinds = includeNamespaces ? KindsFor(set).Append(("v1", "Namespace")) : KindsFor(set);
            foreach (var (apiVersion, kind) in kinds)
                tasks.Add(ListKindAsync(cp, cluster.Key, apiVersion, kind, selector, cancellationToken));
        }
        return (await Task.WhenAll(tasks).ConfigureAwait(false)).SelectMany(x => x).ToList();
    }

    private async Task<List<Managed>> ListKindAsync(MeshControlPlane cp, string cluster, string apiVersion, string kind, string selector, CancellationToken cancellationToken)
    {
        var client = Client(cp);
        if (await client.FindAsync(apiVersion, kind, cancellationToken).ConfigureAwait(false) is null) return new List<Managed>();
        var items = await client.ListAsync(apiVersion, kind, null, selector, cancellationToken).ConfigureAwait(false);
        return items.Select(o => new Managed(cluster, o["metadata"]!["labels"]![JsonBuilder.MeshLabel]!.GetValue<string>(), apiVersion, kind,
            o["metadata"]!["namespace"]?.GetValue<string>(), o["metadata"]!["name"]!.GetValue<string>(), PlanItem.LevelOf(kind),
            Ownership.NotOwnedReason(o, client.FieldManager), Ownership.HasFields(o, client.FieldManager))).ToList();
    }

    /// <summary>Unchanged when every desired field already has the desired value (used when no dry run was possible).</summary>
    internal static (PlanAction Action, string Reason) Compare(JsonObject desired, JsonObject? live)
    {
        if (live is null) return (PlanAction.Create, "does not exist");
        var diffs = new List<string>();
        Diff(desired, live, "", diffs);
        return diffs.Count == 0 ? (PlanAction.Unchanged, "") : (PlanAction.Update, "differs at " + string.Join(", ", diffs.Take(5)) + (diffs.Count > 5 ? $" and {diffs.Count - 5} more" : ""));
    }

    /// <summary>
    /// Compares what a server-side dry run returned with the live object, as kubectl diff does, ignoring what every
    /// write changes (managedFields, resourceVersion, generation) and the status (controllers own it).
    /// </summary>
    internal static (PlanAction Action, string Reason) CompareDryRun(JsonObject dryRun, JsonObject live)
    {
        static JsonObject Normalize(JsonObject o)
        {
            var c = (JsonObject)o.DeepClone();
            c.Remove("status");
            c.Remove("apiVersion");
            if (c["metadata"] is JsonObject md)
                foreach (var k in new[] { "managedFields", "resourceVersion", "generation" }) md.Remove(k);
            return c;
        }
        var a = Normalize(dryRun);
        var b = Normalize(live);
        if (JsonNode.DeepEquals(a, b)) return (PlanAction.Unchanged, "");
        var diffs = new List<string>();
        DiffBoth(a, b, "", diffs);
        return (PlanAction.Update, "differs at " + string.Join(", ", diffs.Take(5)) + (diffs.Count > 5 ? $" and {diffs.Count - 5} more" : ""));
    }

    private static void DiffBoth(JsonNode? after, JsonNode? before, string path, List<string> diffs)
    {
        if (after is JsonObject a && before is JsonObject b)
        {
            foreach (var k in a.Select(kv => kv.Key).Union(b.Select(kv => kv.Key)).Order(StringComparer.Ordinal))
                DiffBoth(a[k], b[k], $"{path}.{k}", diffs);
            return;
        }
        // Values are not shown: they may be certificates or keys.
        if (!JsonNode.DeepEquals(after, before)) diffs.Add(path.Length == 0 ? "." : path);
    }

    private static void Diff(JsonNode? desired, JsonNode? live, string path, List<string> diffs)
    {
        if (desired is JsonObject d)
        {
            if (live is not JsonObject l) { diffs.Add(path.Length == 0 ? "." : path); return; }
            foreach (var (k, v) in d)
            {
                if (path.Length == 0 && k is "apiVersion" or "kind") continue;
                if (v is null) { if (l[k] is not null) diffs.Add($"{path}.{k}"); continue; }
                Diff(v, l[k], $"{path}.{k}", diffs);
            }
            return;
        }
        // Scalars and lists compare whole (lists are atomic in these objects). Values are not shown: they may be certificates.
        if (!JsonNode.DeepEquals(desired, live)) diffs.Add(path);
    }

    // ------------------------------------------------------------------ apply

    private static bool IsControlPlane(PlanItem i) => i.Kind is "ServiceMeshControlPlane" or "Istio" or "IstioCNI";

    /// <summary>
    /// Applies the approved items of a plan: level by level (namespaces, then CA material, control planes and member
    /// rolls, then peers, then service sets, then routes), every cluster in parallel. Control planes created or changed
    /// are waited for (their operator has seen the new generation and reports Ready) while the later levels go on.
    /// Deferred items are applied once the control planes are ready and the values they need can be read. Stale objects
    /// are deleted last, and waited for (bounded): what is still there is reported as terminating, not as deleted.
    /// </summary>
    public async Task<IReadOnlyList<ApplyOutcome>> ApplyAsync(FederationSet set, FederationPlan plan, Func<PlanItem, bool> approved, CancellationToken cancellationToken)
    {
        var outcomes = new List<ApplyOutcome>();
        var work = plan.Items.Where(i => i.Action is PlanAction.Create or PlanAction.Update && approved(i)).ToList();
        var now = work.Where(i => !i.Deferred).ToList();
        var later = work.Where(i => i.Deferred).ToList();
        var deletes = plan.Items.Where(i => i.Action == PlanAction.Delete && approved(i)).ToList();
        var total = work.Count + deletes.Count;
        var done = 0;
        var clusterCount = set.ControlPlanes.Select(c => c.ClusterName).Distinct().Count();
        var removing = plan.Items.Where(approved).All(i => i.Action == PlanAction.Delete);
        var activity = new MeshProgress(1, null, removing ? $"Removing the federation from {clusterCount} clusters" : $"Federating {clusterCount} clusters", "", 0, false);
        void Report(string status) => _log.Progress(activity with { Status = status, PercentComplete = total == 0 ? 100 : Math.Min(99, done * 100 / total) });
        using var waits = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var readiness = new List<Task>();

        try
        {
            foreach (var level in now.GroupBy(i => i.Level).OrderBy(g => g.Key))
            {
                Report($"level {level.Key}: {string.Join(", ", level.Select(i => i.Kind).Distinct())}");
                var applied = await RunAsync(set, level, ApplyOneAsync, () => Interlocked.Increment(ref done), cancellationToken).ConfigureAwait(false);
                _log.Debug($"apply: level {level.Key} applied");
                outcomes.AddRange(applied);
                ThrowIfFailed(outcomes);
                var controlPlanes = applied.Where(o => o.State == OutcomeState.Applied && IsControlPlane(o.Item)).Select(o => o.Item).ToList();
                if (controlPlanes.Count > 0) readiness.Add(WaitForControlPlanesAsync(set, controlPlanes, waits.Token));
            }
            if (readiness.Count > 0)
            {
                Report("waiting for control planes to be ready");
                await Task.WhenAll(readiness).ConfigureAwait(false);
                _log.Debug("apply: control planes ready");
            }

            if (later.Count > 0)
            {
                var resolved = await WaitForPeersAsync(set, later, cancellationToken).ConfigureAwait(false);
                var rendered = Ossm2Renderer.Render(resolved).AllManifests.ToDictionary(m => $"{m.Cluster}|{m.ApiVersion.Split('/')[0]}|{m.Kind}|{m.Namespace}|{m.Name}", StringComparer.Ordinal);
                var ready = later.Select(i => rendered.TryGetValue(i.Key, out var m)
                    ? new PlanItem
                    {
                        Cluster = i.Cluster, Mesh = i.Mesh, Action = i.Action, ApiVersion = i.ApiVersion, Kind = i.Kind, Namespace = i.Namespace, Name = i.Name, Level = i.Level,
                        Desired = i.CreationRecord is null ? m.Content : Ownership.Claim(m.Content, i.CreationRecord), Reason = i.Reason, Owned = i.Owned, CreationRecord = i.CreationRecord,
                    }
                    : throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, i.Target, null, "could not be rendered after waiting", "check that the peer control plane is ready"))).ToList();
                foreach (var level in ready.GroupBy(i => i.Level).OrderBy(g => g.Key))
                {
                    Report($"level {level.Key} (after control planes were ready)");
                    outcomes.AddRange(await RunAsync(set, level, ApplyOneAsync, () => Interlocked.Increment(ref done), cancellationToken).ConfigureAwait(false));
                    ThrowIfFailed(outcomes);
                }
            }

            if (deletes.Count > 0) outcomes.AddRange(await DeleteAllAsync(set, deletes, Report, () => Interlocked.Increment(ref done), cancellationToken).ConfigureAwait(false));
            outcomes.AddRange(plan.Items.Where(i => i.Action == PlanAction.Keep).Select(i => new ApplyOutcome(i, false, null) { State = OutcomeState.Kept, Reason = i.Reason }));
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            var completed = outcomes.Count(o => o.Done);
            throw new OperationCanceledException(
                $"Cancelled after {completed} of {total} changes; every change is applied whole or not at all. Run the same command again to finish.", null, cancellationToken);
        }
        finally
        {
            await waits.CancelAsync().ConfigureAwait(false);
            foreach (var t in readiness) _ = t.ContinueWith(x => x.Exception, TaskScheduler.Default); // observed: nothing is left unobserved after a failure
            _log.Progress(activity with { Status = "done", PercentComplete = 100, Completed = true });
        }
        return outcomes;
    }

    private static void ThrowIfFailed(List<ApplyOutcome> outcomes)
    {
        var failed = outcomes.Where(o => o.State == OutcomeState.Failed).ToList();
        if (failed.Count > 0)
            throw new LiveFederationException(
                $"{failed.Count} change(s) failed; nothing after them was applied. {string.Join("; ", failed.Select(f => $"{f.Item.Target}: {f.Error}"))}", outcomes);
    }

    private async Task<List<ApplyOutcome>> RunAsync(FederationSet set, IEnumerable<PlanItem> items, Func<KubeClient, PlanItem, CancellationToken, Task<ApplyOutcome>> action, Func<int> onDone, CancellationToken cancellationToken)
    {
        var byCluster = items.GroupBy(i => i.Cluster, StringComparer.Ordinal).ToList();
        using var clusterGate = new SemaphoreSlim(Math.Max(1, _options.MaxParallelClusters));
        var tasks = byCluster.Select(async group =>
        {
            await clusterGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                var cp = set.ControlPlanes.First(c => c.ClusterName == group.Key);
                var client = Client(cp);
                using var gate = new SemaphoreSlim(Math.Max(1, _options.ConcurrencyPerCluster));
                var inner = group.Select(async item =>
                {
                    await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
                    try
                    {
                        var outcome = await action(client, item, cancellationToken).ConfigureAwait(false);
                        onDone();
                        _log.Verbose(outcome.ToString());
                        return outcome;
                    }
                    catch (KubeApiException e)
                    {
                        return new ApplyOutcome(item, false, e.ApiMessage ?? e.Message);
                    }
                    finally
                    {
                        gate.Release();
                    }
                });
                return await Task.WhenAll(inner).ConfigureAwait(false);
            }
            finally
            {
                clusterGate.Release();
            }
        });
        return (await Task.WhenAll(tasks).ConfigureAwait(false)).SelectMany(x => x).ToList();
    }

    private async Task<ApplyOutcome> ApplyOneAsync(KubeClient client, PlanItem item, CancellationToken cancellationToken)
    {
        var (_, created) = await client.ApplyAsync(item.Desired!, ForceConflicts, dryRun: false, cancellationToken).ConfigureAwait(false);
        if (item.Action == PlanAction.Create && !created && item.CreationRecord is not null)
        {
            // It appeared between the plan and now: someone else created it, so it is not recorded as ours.
            await client.ApplyAsync(Ownership.Unclaim(item.Desired!), ForceConflicts, dryRun: false, cancellationToken).ConfigureAwait(false);
            _log.Warning($"{item.Target} was created by someone else after the plan: it was updated, but it is not meshfederation's and will not be deleted by it");
        }
        return new ApplyOutcome(item, true, null);
    }

    // ------------------------------------------------------------------ delete

    /// <summary>
    /// Deletes owned objects (levels in reverse, then namespaces), each only after re-reading it and proving it is still
    /// ours, and waits (bounded by <see cref="LiveOptions.DeleteTimeout"/>) until they are gone. A namespace this
    /// module created is deleted only when nothing foreign lives in it; operator leftovers (objects owned through
    /// ownerReferences, istiod's root certificate, the per-namespace defaults) go with it and are not counted.
    /// </summary>
    private async Task<List<ApplyOutcome>> DeleteAllAsync(FederationSet set, List<PlanItem> deletes, Action<string> report, Func<int> onDone, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + _options.DeleteTimeout;
        report($"removing {string.Join(", ", deletes.Select(i => i.Kind).Distinct())}");
        // Each cluster on its own: a namespace waits only for what was deleted in its own cluster.
        var perCluster = await Task.WhenAll(deletes.GroupBy(i => i.Cluster, StringComparer.Ordinal).Select(async cluster =>
        {
            var outcomes = new List<ApplyOutcome>();
            foreach (var level in cluster.Where(i => i.Kind != "Namespace").GroupBy(i => i.Level).OrderByDescending(g => g.Key))
            {
                outcomes.AddRange(await RunAsync(set, level, DeleteOneAsync, onDone, cancellationToken).ConfigureAwait(false));
                ThrowIfFailed(outcomes);
            }
            outcomes = await WaitGoneAsync(set, outcomes, deadline, cancellationToken).ConfigureAwait(false);
            var namespaces = cluster.Where(i => i.Kind == "Namespace").ToList();
            if (namespaces.Count == 0) return outcomes;
            var nsOutcomes = await RunAsync(set, namespaces, (c, i, ct) => DeleteNamespaceAsync(set, c, i, ct), onDone, cancellationToken).ConfigureAwait(false);
            ThrowIfFailed(nsOutcomes);
            outcomes.AddRange(await WaitGoneAsync(set, nsOutcomes, deadline, cancellationToken).ConfigureAwait(false));
            return outcomes;
        })).ConfigureAwait(false);
        return perCluster.SelectMany(x => x).ToList();
    }

    /// <summary>Deletes one object if it is still ours; the outcome is Terminating until <see cref="WaitGoneAsync"/> sees it gone.</summary>
    private async Task<ApplyOutcome> DeleteOneAsync(KubeClient client, PlanItem item, CancellationToken cancellationToken)
    {
        var live = await client.GetAsync(item.ApiVersion, item.Kind, item.Namespace, item.Name, cancellationToken).ConfigureAwait(false);
        if (live is null) return AlreadyGone(item);
        if (Ownership.NotOwnedReason(live, client.FieldManager) is { } why) return new ApplyOutcome(item, false, null) { State = OutcomeState.Kept, Reason = "left alone: " + why };
        return await RequestDeletionAsync(client, item, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Gone before meshfed's delete reached it (the garbage collector removed it with an owner meshfed deleted, or someone
    /// else did): the state removal asks for, so Done, like kubectl delete --ignore-not-found; the reason says so.
    /// </summary>
    private static ApplyOutcome AlreadyGone(PlanItem item) => new(item, true, null) { State = OutcomeState.Deleted, Reason = "already gone" };

    private static async Task<ApplyOutcome> RequestDeletionAsync(KubeClient client, PlanItem item, CancellationToken cancellationToken)
    {
        var existed = await client.DeleteAsync(item.ApiVersion, item.Kind, item.Namespace, item.Name, "Background", cancellationToken).ConfigureAwait(false);
        return existed
            ? new ApplyOutcome(item, false, null) { State = OutcomeState.Terminating, Reason = "deletion requested" }
            : AlreadyGone(item);
    }

    private async Task<ApplyOutcome> DeleteNamespaceAsync(FederationSet set, KubeClient client, PlanItem item, CancellationToken cancellationToken)
    {
        var live = await client.GetAsync("v1", "Namespace", null, item.Name, cancellationToken).ConfigureAwait(false);
        if (live is null) return AlreadyGone(item);
        if (Ownership.NotOwnedReason(live, client.FieldManager) is { } why) return new ApplyOutcome(item, false, null) { State = OutcomeState.Kept, Reason = "left alone: " + why };
        var foreign = await ForeignObjectsAsync(set, client, item.Name, cancellationToken).ConfigureAwait(false);
        if (foreign.Count > 0)
        {
            var reason = $"it holds objects meshfederation did not create: {string.Join(", ", foreign.Take(5))}{(foreign.Count > 5 ? $" and {foreign.Count - 5} more" : "")}";
            _log.Warning($"{item.Cluster}: kept namespace {item.Name}: {reason}");
            return new ApplyOutcome(item, false, null) { State = OutcomeState.Kept, Reason = reason };
        }
        return await RequestDeletionAsync(client, item, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Objects in a namespace that are neither this module's nor derived from what it created: not owned through
    /// ownerReferences by a controller, not the OSSM operator's, not going away, and not what every namespace of a mesh
    /// holds (kube-root-ca.crt, istiod's istio-ca-root-cert and self-signed istio-ca-secret, the default service accounts and
    /// their token secrets).
    /// </summary>
    private static async Task<List<string>> ForeignObjectsAsync(FederationSet set, KubeClient client, string ns, CancellationToken cancellationToken)
    {
        var kinds = new[] { ("v1", "ConfigMap"), ("v1", "Secret"), ("v1", "Service"), ("v1", "ServiceAccount"), ("v1", "Pod"), ("apps/v1", "Deployment") }
            .Concat(KindsFor(set)).Distinct().Where(k => k.Item2 is not ("ClusterRole" or "ClusterRoleBinding" or "Istio" or "IstioCNI")).ToList();
        var lists = await Task.WhenAll(kinds.Select(async k =>
            await client.FindAsync(k.Item1, k.Item2, cancellationToken).ConfigureAwait(false) is null
                ? new List<string>()
                : (await client.ListAsync(k.Item1, k.Item2, ns, null, cancellationToken).ConfigureAwait(false))
                    .Where(o => !Derived(o, k.Item2, client.FieldManager)).Select(o => $"{k.Item2} {o["metadata"]!["name"]}").ToList())).ConfigureAwait(false);
        return lists.SelectMany(x => x).Distinct().ToList();
    }

    private static readonly HashSet<string> PerNamespaceAccounts = new(StringComparer.Ordinal) { "default", "builder", "deployer" };

    private static bool Derived(JsonObject o, string kind, string fieldManager)
    {
        var md = o["metadata"]!;
        var name = md["name"]!.GetValue<string>();
        if (md["deletionTimestamp"] is not null || Ownership.IsOwned(o, fieldManager)) return true;
        if (md["ownerReferences"] is JsonArray { Count: > 0 } || md["labels"]?["maistra.io/owner"] is not null) return true;
        return kind switch
        {
            "ConfigMap" => name is "kube-root-ca.crt" or "openshift-service-ca.crt" or "istio-ca-root-cert",
            "ServiceAccount" => PerNamespaceAccounts.Contains(name),
            "Secret" => (o["type"]?.GetValue<string>() is "kubernetes.io/service-account-token" or "kubernetes.io/dockercfg"
                         && PerNamespaceAccounts.Contains(md["annotations"]?["kubernetes.io/service-account.name"]?.GetValue<string>() ?? ""))
                        || (name == "istio-ca-secret" && o["type"]?.GetValue<string>() == "istio.io/ca-root"), // istiod's self-signed CA
            _ => false,
        };
    }

    /// <summary>Waits until the objects whose deletion was requested are gone, up to <paramref name="deadline"/>; reports what is still there.</summary>
    private async Task<List<ApplyOutcome>> WaitGoneAsync(FederationSet set, List<ApplyOutcome> outcomes, DateTimeOffset deadline, CancellationToken cancellationToken)
    {
        var result = outcomes.ToList();
        var activity = new MeshProgress(4, 1, "Waiting for deletions", "", 0, false);
        var total = result.Count(o => o.State == OutcomeState.Terminating);
        try
        {
            while (true)
            {
                var pending = result.Select((o, i) => (o, i)).Where(x => x.o.State == OutcomeState.Terminating).ToList();
                if (pending.Count == 0) return result;
                var reads = await Task.WhenAll(pending.Select(async x =>
                {
                    var cp = set.ControlPlanes.First(c => c.ClusterName == x.o.Item.Cluster);
                    return (x.i, Live: await Client(cp).GetAsync(x.o.Item.ApiVersion, x.o.Item.Kind, x.o.Item.Namespace, x.o.Item.Name, cancellationToken).ConfigureAwait(false));
                })).ConfigureAwait(false);
                foreach (var (i, current) in reads)
                    result[i] = current is null
                        ? result[i] with { Done = true, State = OutcomeState.Deleted, Reason = null }
                        : result[i] with { Reason = StillThere(current) };
                var still = result.Where(o => o.State == OutcomeState.Terminating).ToList();
                if (still.Count == 0) return result;
                _log.Progress(activity with { Status = $"{still.Count} still terminating: {string.Join("; ", still.Take(3).Select(o => $"{o.Item.Target} ({o.Reason})"))}", PercentComplete = (total - still.Count) * 100 / Math.Max(1, total) });
                if (DateTimeOffset.UtcNow >= deadline)
                {
                    foreach (var o in still) _log.Warning($"still terminating after {_options.DeleteTimeout.TotalSeconds:0} s: {o.Item.Target} ({o.Reason})");
                    return result;
                }
                await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _log.Progress(activity with { Status = "done", PercentComplete = 100, Completed = true });
        }
    }

    /// <summary>Why a deleted object is still there: its finalizers, or (a namespace) what its status says remains.</summary>
    private static string StillThere(JsonObject live)
    {
        var finalizers = (live["metadata"]?["finalizers"] as JsonArray)?.Select(f => f!.GetValue<string>()).ToList() ?? new List<string>();
        var detail = TerminatingDetail(live).Trim(' ', '(', ')');
        var parts = new List<string>();
        if (finalizers.Count > 0) parts.Add($"finalizers: {string.Join(", ", finalizers)}");
        if (detail.Length > 0) parts.Add(detail);
        return parts.Count == 0 ? "deletion in progress" : string.Join("; ", parts);
    }

    // ------------------------------------------------------------------ wait

    /// <summary>Waits (with progress, bounded by the wait timeout) until the control planes' operators have seen their latest generation and report Ready.</summary>
    private async Task WaitForControlPlanesAsync(FederationSet set, IReadOnlyList<PlanItem> controlPlanes, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + _options.WaitTimeout;
        var activity = new MeshProgress(2, 1, "Waiting for control planes", "", 0, false);
        var pending = controlPlanes.ToList();
        try
        {
            while (true)
            {
                var states = await Task.WhenAll(pending.Select(async i =>
                {
                    var client = Client(set.ControlPlanes.First(c => c.ClusterName == i.Cluster));
                    var current = await client.GetAsync(i.ApiVersion, i.Kind, i.Namespace, i.Name, cancellationToken).ConfigureAwait(false);
                    return (Item: i, State: Readiness(current));
                })).ConfigureAwait(false);
                pending = states.Where(s => !s.State.Ready).Select(s => s.Item).ToList();
                if (pending.Count == 0) return;
                var status = string.Join("; ", states.Where(s => !s.State.Ready).Select(s => $"{s.Item.Target}: {s.State.Detail}"));
                _log.Progress(activity with { Status = $"not ready: {status}", PercentComplete = (controlPlanes.Count - pending.Count) * 100 / controlPlanes.Count });
                if (DateTimeOffset.UtcNow >= deadline)
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, "control planes", status,
                        $"were not ready after {_options.WaitTimeout.TotalSeconds:0} s (everything was applied; the operator has not finished)",
                        "check the control planes' status (oc get smcp -o yaml, or kubectl get istio -o yaml for the Istio styles) and the operator's log; then run again"));
                await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _log.Progress(activity with { Status = "done", PercentComplete = 100, Completed = true });
        }
    }

    /// <summary>
    /// Ready means the operator has seen the object's latest generation (status.observedGeneration ≥
    /// metadata.generation) and reports the condition Ready=True for it; a Ready condition of an older generation is
    /// not readiness.
    /// </summary>
    public static (bool Ready, string Detail) Readiness(JsonObject? obj)
    {
        if (obj is null) return (false, "does not exist");
        var generation = obj["metadata"]?["generation"] is JsonValue g && g.TryGetValue<long>(out var gv) ? gv : (long?)null;
        var observed = obj["status"]?["observedGeneration"] is JsonValue o && o.TryGetValue<long>(out var ov) ? ov : (long?)null;
        var ready = (obj["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault(c => c["type"]?.GetValue<string>() == "Ready");
        if (generation is not null && observed is not null && observed < generation)
            return (false, $"generation {generation}, observed {observed}: the operator has not seen the change yet");
        if (ready?["status"]?.GetValue<string>() != "True")
            return (false, ready is null ? "no Ready condition yet" : $"Ready={ready["status"]} {ready["reason"]?.GetValue<string>()} {ready["message"]?.GetValue<string>()}".TrimEnd());
        return (true, "Ready");
    }

    /// <summary>Waits (with progress) until the control planes are Ready and the deferred peers' values can be read.</summary>
    private async Task<FederationSet> WaitForPeersAsync(FederationSet set, IReadOnlyList<PlanItem> deferred, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + _options.WaitTimeout;
        var meshes = set.ControlPlanes.ToList();
        var activity = new MeshProgress(2, 1, "Waiting for control planes", "", 0, false);
        var attempt = 0;
        try
        {
            while (true)
            {
                attempt++;
                var readiness = await Task.WhenAll(meshes.Select(async cp => (cp, Ready: await IsReadyAsync(cp, cancellationToken).ConfigureAwait(false)))).ConfigureAwait(false);
                var notReady = readiness.Where(r => !r.Ready).Select(r => r.cp.Name).ToList();
                FederationSet? resolved = null;
                var missing = new List<string>();
                if (notReady.Count == 0)
                {
                    resolved = await ResolveAsync(set, cancellationToken).ConfigureAwait(false);
                    var result = Ossm2Renderer.Render(resolved);
                    missing = result.Pending.Where(p => deferred.Any(d => d.Cluster == p.Cluster && p.What.Contains($"{d.Namespace}/{d.Name}", StringComparison.Ordinal))).Select(p => p.What).ToList();
                    if (missing.Count == 0) return resolved;
                }
                var status = notReady.Count > 0 ? $"not ready: {string.Join(", ", notReady)}" : $"waiting for: {string.Join("; ", missing)}";
                _log.Progress(activity with { Status = status, PercentComplete = (meshes.Count - notReady.Count) * 100 / Math.Max(1, meshes.Count) });
                if (DateTimeOffset.UtcNow >= deadline)
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, "control planes", status,
                        $"were not ready after {_options.WaitTimeout.TotalSeconds:0} s",
                        "check the control planes' status (oc get smcp, or kubectl get istios for the Istio styles), that LoadBalancer Services get addresses and that service-account tokens are issued; then run again"));
                if (attempt == 1) _log.Verbose($"Waiting for control planes: {status}");
                await Task.Delay(_options.PollInterval, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            _log.Progress(activity with { Status = "done", PercentComplete = 100, Completed = true });
        }
    }

    /// <summary>The control plane (SMCP, or the Sail Istio) has seen its latest generation and is Ready.</summary>
    public async Task<bool> IsReadyAsync(MeshControlPlane cp, CancellationToken cancellationToken)
    {
        var obj = cp.Style != MeshStyle.Ossm2
            ? await Client(cp).GetAsync(cp.SailApiVersion, "Istio", null, cp.ControlPlaneName, cancellationToken).ConfigureAwait(false)
            : await Client(cp).GetAsync("maistra.io/v2", "ServiceMeshControlPlane", cp.Namespace, cp.ControlPlaneName, cancellationToken).ConfigureAwait(false);
        return Readiness(obj).Ready;
    }

    // ------------------------------------------------------------------ remove

    /// <summary>
    /// Plans the removal of everything this module created for the set's meshes, and nothing else: objects carrying its
    /// labels that it did not create are left alone (listed with the reason); a namespace it did not create is kept and
    /// only its labels and annotations from this module are removed.
    /// </summary>
    public async Task<FederationPlan> PlanRemovalAsync(FederationSet set, CancellationToken cancellationToken)
    {
        var found = await ListManagedAsync(set, cancellationToken, includeNamespaces: !_options.KeepNamespaces).ConfigureAwait(false);
        var items = found.Select(f =>
        {
            var item = new PlanItem
            {
                Cluster = f.Cluster, Mesh = f.Mesh, Action = PlanAction.Delete, ApiVersion = f.ApiVersion, Kind = f.Kind, Namespace = f.Namespace, Name = f.Name,
                Level = f.Level, Reason = "created by meshfederation", Owned = true,
            };
            if (f.NotOwned is null) return item;
            if (f.Kind == "Namespace" && f.OurFields)
                return new PlanItem
                {
                    Cluster = f.Cluster, Mesh = f.Mesh, Action = PlanAction.Update, ApiVersion = f.ApiVersion, Kind = f.Kind, Name = f.Name, Level = 0,
                    Desired = new JsonObject { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = f.Name } },
                    Reason = $"kept: {f.NotOwned}; meshfederation's labels and annotations are removed from it",
                };
            return new PlanItem
            {
                Cluster = f.Cluster, Mesh = f.Mesh, Action = PlanAction.Keep, ApiVersion = f.ApiVersion, Kind = f.Kind, Namespace = f.Namespace, Name = f.Name,
                Level = f.Level, Reason = $"left alone: it carries meshfederation's labels but {f.NotOwned}",
            };
        }).OrderBy(i => i.Cluster, StringComparer.Ordinal).ThenBy(i => i.Action).ThenByDescending(i => i.Kind == "Namespace" ? -1 : i.Level)
            .ThenBy(i => i.Kind, StringComparer.Ordinal).ThenBy(i => i.Namespace, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal).ToList();
        return new FederationPlan { Items = items, DependencyDepth = 1 + items.Where(i => i.Action == PlanAction.Delete).Select(i => i.Level).Distinct().Count() + 2 };
    }
}

/// <summary>Some changes failed; carries every outcome so far.</summary>
public sealed class LiveFederationException : Exception
{
    public LiveFederationException(string message, IReadOnlyList<ApplyOutcome> outcomes) : base(message) => Outcomes = outcomes;

    public LiveFederationException() : base("live federation failed") { }

    public LiveFederationException(string message) : base(message) { }

    public LiveFederationException(string message, Exception inner) : base(message, inner) { }

    public IReadOnlyList<ApplyOutcome> Outcomes { get; } = Array.Empty<ApplyOutcome>();
}
