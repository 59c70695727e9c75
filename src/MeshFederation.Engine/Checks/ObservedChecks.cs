using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;
using MeshFederation.Engine.Rotation;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// The checks over what clusters (or snapshots of them) hold: OpenShift Service Mesh 2 here, the Istio styles in
/// <see cref="IstioObservedChecks"/>. Every check runs to completion and reports Pass, Warn, Fail or Skip with why it
/// matters, how to fix it and the evidence it looked at (cluster, object, field, value, when read). A check whose inputs
/// could not be read reports Skip with the reason, or Fail; never Pass.
/// </summary>
public static class ObservedChecks
{
    /// <summary>Reads what the checks need (see <see cref="Observation.ObserveAsync"/>).</summary>
    public static Task<Observation> ObserveAsync(IEnumerable<IClusterReader> readers, CancellationToken cancellationToken) =>
        Observation.ObserveAsync(readers, cancellationToken);

    /// <summary>Runs every check over what was observed (without connecting anywhere: remote secrets are judged by what was saved).</summary>
    public static IReadOnlyList<MeshCheckResult> Run(Observation observed, FederationSet? intended, CheckOptions? options = null) =>
        RunAsync(observed, intended, options, CancellationToken.None).GetAwaiter().GetResult();

    /// <summary>
    /// Runs every check over what was observed; <paramref name="intended"/> (optional) names what should be there. On a
    /// live observation the remote secrets are also tried (connect, then may the token list services, endpoints and
    /// pods). Throws <see cref="NoMeshFoundException"/> when no control plane was found in any cluster.
    /// </summary>
    public static async Task<IReadOnlyList<MeshCheckResult>> RunAsync(Observation observed, FederationSet? intended, CheckOptions? options, CancellationToken cancellationToken)
    {
        options ??= new CheckOptions();
        Match(observed, intended);
        if (!observed.Meshes.Any(m => m.ControlPlane is not null) && observed.IstioControlPlanes.Count == 0)
            throw new NoMeshFoundException(NothingFound(observed, intended));
        var report = new CheckReport();
        new Ossm2(observed, intended, options, report).Run();
        await IstioObservedChecks.RunAsync(observed, intended, options, report, cancellationToken).ConfigureAwait(false);
        if (intended is not null) IstioChecks.RunIntentOnly(intended, report);
        return report.Results;
    }

    /// <summary>Binds observed control planes to the intended ones: (cluster, namespace, control-plane resource name).</summary>
    private static void Match(Observation observed, FederationSet? intended)
    {
        if (intended is null) return;
        var ossm = intended.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2)
            .GroupBy(c => $"{c.ClusterName}|{c.Namespace}|{c.ControlPlaneName}", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        // A namespace holding federation objects but no control plane is the intended mesh of that namespace.
        var byNamespace = intended.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2)
            .GroupBy(c => $"{c.ClusterName}|{c.Namespace}", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var m in observed.Meshes)
            m.Intended = m.ControlPlane is null ? byNamespace.GetValueOrDefault($"{m.Cluster}|{m.Namespace}") : ossm.GetValueOrDefault(m.Key);
        // Istio: by (cluster, namespace, resource name), else by (cluster, namespace) when the resource is named otherwise.
        var istio = intended.ControlPlanes.Where(c => c.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh).ToList();
        var istioByName = istio.GroupBy(c => $"{c.ClusterName}|{c.Namespace}|{c.ControlPlaneName}", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var istioByNamespace = istio.GroupBy(c => $"{c.ClusterName}|{c.Namespace}", StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        foreach (var i in observed.IstioControlPlanes)
            i.Intended = istioByName.GetValueOrDefault($"{i.Cluster}|{i.Namespace}|{i.ResourceName}") ?? istioByNamespace.GetValueOrDefault($"{i.Cluster}|{i.Namespace}");
    }

    private static MeshProblem NothingFound(Observation observed, FederationSet? intended)
    {
        var found = new List<string>();
        foreach (var c in observed.Clusters)
        {
            var smcp = c.Read(KindRef.Smcp);
            var istio = c.Read(KindRef.Istio);
            var parts = new List<string>
            {
                "ServiceMeshControlPlane: " + (smcp.Ok ? smcp.Note ?? "none" : smcp.Unreadable),
                "Sail Istio: " + (istio.Ok ? istio.Note ?? "none" : istio.Unreadable),
            };
            foreach (var m in observed.Meshes.Where(m => m.Observation == c))
            {
                foreach (var p in m.Peers) parts.Add($"ServiceMeshPeer {m.Namespace}/{ObservedMesh.NameOf(p)} ({Ossm2.DiscoverySummary(p)})");
                foreach (var e in m.Exports) parts.Add($"ExportedServiceSet {m.Namespace}/{ObservedMesh.NameOf(e)}");
                foreach (var i in m.Imports) parts.Add($"ImportedServiceSet {m.Namespace}/{ObservedMesh.NameOf(i)}");
            }
            found.Add($"{c.Cluster} ({c.Source}): {string.Join("; ", parts)}");
        }
        var wanted = intended is null || intended.ControlPlanes.Count == 0 ? ""
            : $" The topology expects {string.Join(", ", intended.ControlPlanes.Select(cp => cp.Style == MeshStyle.Ossm2 ? $"ServiceMeshControlPlane {cp.Namespace}/{cp.ControlPlaneName} in {cp.ClusterName}" : $"Istio {cp.ControlPlaneName} for {cp.Namespace} in {cp.ClusterName}"))}.";
        return new MeshProblem(MeshErrorKind.NotFound, "meshes", null,
            $"no service mesh control plane (ServiceMeshControlPlane or Sail Istio) was found in {observed.Clusters.Count} cluster(s).{wanted} Found: {string.Join(" | ", found)}",
            "check that the right clusters (--context/-Context, the topology's clusters) or snapshot folders were given and that the control planes are installed; save snapshots with kubectl get smcp,servicemeshpeers,... -A -o yaml");
    }

    /// <summary>The OpenShift Service Mesh 2 checks.</summary>
    private sealed class Ossm2
    {
        private readonly Observation _observed;
        private readonly FederationSet? _intended;
        private readonly CheckOptions _options;
        private readonly CheckReport _report;
        private readonly PeerResolver _resolver;

        public Ossm2(Observation observed, FederationSet? intended, CheckOptions options, CheckReport report)
        {
            _observed = observed;
            _intended = intended;
            _options = options;
            _report = report;
            _resolver = new PeerResolver(observed.Meshes, intended);
        }

        public void Run()
        {
            var byTrustDomain = _observed.Meshes.Where(m => m.ControlPlane is not null)
                .GroupBy(m => m.TrustDomain, StringComparer.OrdinalIgnoreCase).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.OrdinalIgnoreCase);
            foreach (var mesh in _observed.Meshes)
            {
                ControlPlaneReady(mesh);
                if (mesh.ControlPlane is not null) TrustDomainUnique(mesh, byTrustDomain[mesh.TrustDomain]);
                foreach (var smp in mesh.Peers) PeerChecks(_resolver.Resolve(mesh, smp));
                foreach (var ess in mesh.Exports) ExportChecks(mesh, ess);
                foreach (var iss in mesh.Imports) ImportChecks(mesh, iss);
            }
            if (_intended is not null) IntendedNotObserved();
        }

        private void Add(CheckInfo check, ObservedMesh mesh, string? peer, CheckStatus status, string message, string fix, IEnumerable<MeshEvidence> evidence) =>
            _report.Add(check, mesh.Name, peer, mesh.Cluster, status, message, fix, evidence);

        private static ClusterObservation Obs(ObservedMesh m) => m.Observation ?? throw new InvalidOperationException("mesh without observation");

        private static MeshEvidence SmcpEv(ObservedMesh m, string? field, string? value) =>
            Ev.Read(Obs(m), Obs(m).Read(KindRef.Smcp), Ev.Obj("ServiceMeshControlPlane", m.Namespace, m.ControlPlaneName), field, value);

        private static MeshEvidence SmpEv(ObservedMesh m, JsonObject smp, string? field, string? value) =>
            Ev.Read(Obs(m), Obs(m).Read(KindRef.Smp), Ev.Obj("ServiceMeshPeer", m.Namespace, ObservedMesh.NameOf(smp)), field, value);

        // ---------------------------------------------------------------- per mesh

        private void ControlPlaneReady(ObservedMesh mesh)
        {
            var c = Obs(mesh);
            var read = c.Read(KindRef.Smcp);
            if (mesh.ControlPlane is null)
            {
                var holds = string.Join(", ", mesh.Peers.Select(p => "ServiceMeshPeer " + ObservedMesh.NameOf(p)).Concat(mesh.Exports.Select(e => "ExportedServiceSet " + ObservedMesh.NameOf(e)))
                    .Concat(mesh.Imports.Select(i => "ImportedServiceSet " + ObservedMesh.NameOf(i))));
                if (read.Ok)
                    Add(CheckCatalogue.ControlPlaneReady, mesh, null, CheckStatus.Fail, $"no ServiceMeshControlPlane in namespace {mesh.Namespace}, which holds {holds}",
                        "create the control plane in that namespace, or remove the federation objects left there",
                        new[] { Ev.Read(c, read, Ev.Obj("ServiceMeshControlPlane", mesh.Namespace, "*"), null, "none") });
                else
                    Add(CheckCatalogue.ControlPlaneReady, mesh, null, CheckStatus.Skip, $"namespace {mesh.Namespace} holds {holds}, but its ServiceMeshControlPlanes could not be read",
                        "save or read the ServiceMeshControlPlanes too", new[] { Ev.Unreadable(c, read, "ServiceMeshControlPlanes") });
                return;
            }
            // A namespace being deleted takes the control plane with it, however ready it still looks.
            var nsRead = c.ReadOne(KindRef.Namespace, null, mesh.Namespace);
            var nsDeleted = nsRead.Ok ? nsRead.Items.FirstOrDefault()?["metadata"]?["deletionTimestamp"].S() : null;
            var smcpDeleted = mesh.ControlPlane["metadata"]?["deletionTimestamp"].S();
            if (nsDeleted is not null || smcpDeleted is not null)
            {
                Add(CheckCatalogue.ControlPlaneReady, mesh, null, CheckStatus.Fail,
                    $"{(nsDeleted is not null ? $"namespace {mesh.Namespace}" : "the ServiceMeshControlPlane")} is Terminating (deletion requested at {nsDeleted ?? smcpDeleted}): the control plane is being deleted",
                    "wait until the namespace is gone and apply the federation again, or find what deleted it",
                    new[] { nsDeleted is not null
                        ? Ev.Read(c, nsRead, Ev.Obj("Namespace", null, mesh.Namespace), "metadata.deletionTimestamp", nsDeleted)
                        : SmcpEv(mesh, "metadata.deletionTimestamp", smcpDeleted!) });
                return;
            }
            var status = mesh.ControlPlane["status"];
            var conditions = (status?["conditions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            var ready = conditions.FirstOrDefault(x => x["type"].S() == "Ready");
            var count = status?["annotations"]?["readyComponentCount"].S();
            var generation = mesh.ControlPlane["metadata"]?["generation"].L();
            var observedGeneration = status?["observedGeneration"].L();
            var evidence = new List<MeshEvidence>
            {
                SmcpEv(mesh, "status.conditions[Ready]", ready is null ? "(none)" : $"status={Ev.Str(ready["status"])}, reason={Ev.Str(ready["reason"])}{(ready["message"] is null ? "" : ", message=" + Ev.Str(ready["message"]))}"),
                SmcpEv(mesh, "status.annotations.readyComponentCount", count ?? "(not set)"),
            };
            if (generation is not null || observedGeneration is not null)
                evidence.Add(SmcpEv(mesh, "metadata.generation / status.observedGeneration", $"{generation?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"} / {observedGeneration?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "-"}"));
            var isReady = ready?["status"].S() == "True";
            var stale = isReady && generation is not null && observedGeneration is not null && observedGeneration < generation;
            Add(CheckCatalogue.ControlPlaneReady, mesh, null,
                !isReady ? CheckStatus.Fail : stale ? CheckStatus.Warn : CheckStatus.Pass,
                !isReady ? $"ServiceMeshControlPlane is not Ready: {(ready is null ? "no Ready condition" : $"{Ev.Str(ready["reason"])} {ready["message"].S()}".TrimEnd())}"
                : stale ? $"ServiceMeshControlPlane is Ready, but for generation {observedGeneration} of {generation}: the last change is not rolled out yet"
                : $"ServiceMeshControlPlane is Ready{(count is null ? "" : $" ({count} components)")}",
                "look at the SMCP status (oc describe smcp) and the operator's log", evidence);
        }

        private void TrustDomainUnique(ObservedMesh mesh, List<ObservedMesh> sameDomain)
        {
            var others = sameDomain.Where(o => o != mesh).Select(o => o.ToString()).ToList();
            Add(CheckCatalogue.TrustDomainUnique, mesh, null, others.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                others.Count == 0 ? $"trust domain {mesh.TrustDomain} is unique among the {_observed.Meshes.Count(m => m.ControlPlane is not null)} meshes observed"
                    : $"trust domain {mesh.TrustDomain} is shared with {string.Join(", ", others)}",
                $"set spec.security.trust.domain to {mesh.Name}.local (and the trustDomain and clientID in the peers' ServiceMeshPeers)",
                new[] { SmcpEv(mesh, "spec.security.trust.domain", mesh.ControlPlane!["spec"]?["security"]?["trust"]?["domain"].S() ?? "(not set: cluster.local)") });
        }

        private void IntendedNotObserved()
        {
            // Intended meshes observed in any form (an incomplete one reports its missing control plane itself).
            var matched = _observed.Meshes.Where(m => m.Intended is not null).Select(m => m.Intended!).ToHashSet();
            foreach (var cp in _intended!.ControlPlanes.Where(c => c.Style == MeshStyle.Ossm2 && !matched.Contains(c)))
            {
                var c = _observed.Clusters.FirstOrDefault(x => x.Cluster == cp.ClusterName);
                var obj = Ev.Obj("ServiceMeshControlPlane", cp.Namespace, cp.ControlPlaneName);
                if (c is null)
                {
                    _report.Add(CheckCatalogue.ControlPlaneReady, cp.Name, null, cp.ClusterName, CheckStatus.Skip, $"cluster {cp.ClusterName} was not read",
                        $"include cluster {cp.ClusterName} (its context, or its snapshot folder)", new[] { Ev.Declared(cp, obj, null, null) });
                    continue;
                }
                var read = c.Read(KindRef.Smcp, cp.Namespace);
                if (read.Ok)
                    _report.Add(CheckCatalogue.ControlPlaneReady, cp.Name, null, cp.ClusterName, CheckStatus.Fail, $"no {obj} in cluster {cp.ClusterName}",
                        "apply the federation (meshfed apply, Sync-MeshFederation) or create the control plane", new[] { Ev.Read(c, read, obj, null, "not found"), Ev.Declared(cp, obj, null, "intended") });
                else
                    _report.Add(CheckCatalogue.ControlPlaneReady, cp.Name, null, cp.ClusterName, CheckStatus.Skip, $"the ServiceMeshControlPlanes of {cp.ClusterName} could not be read",
                        "give the checks read access to servicemeshcontrolplanes (or save them in the snapshot)", new[] { Ev.Unreadable(c, read, "ServiceMeshControlPlanes") });
            }
        }

        // ---------------------------------------------------------------- per ServiceMeshPeer

        private void PeerChecks(PeerLink link)
        {
            var mesh = link.Local;
            var smp = link.Smp;
            var peer = ObservedMesh.NameOf(smp);
            var spec = smp["spec"];
            var ingressName = spec?["gateways"]?["ingress"]?["name"].S() ?? "";
            var egressName = spec?["gateways"]?["egress"]?["name"].S() ?? "";
            var linkEvidence = link.Evidence;

            FederationGateways(mesh, smp, peer, ingressName, egressName);
            PeerRootCertificate(link, peer);

            // Both sides.
            if (link.Remote is null)
                Add(CheckCatalogue.PeerBothSides, mesh, peer, CheckStatus.Skip, $"ServiceMeshPeer {peer} points at no observed mesh: {link.Why}",
                    "include the peer's cluster (context, or snapshot folder), or fix the ServiceMeshPeer's addresses, trustDomain and clientID", linkEvidence);
            else if (link.Back is not null)
                Add(CheckCatalogue.PeerBothSides, mesh, peer, CheckStatus.Pass, $"{link.Remote} has ServiceMeshPeer {ObservedMesh.NameOf(link.Back)} pointing back",
                    "", linkEvidence.Append(SmpEv(link.Remote, link.Back, null, "points back")));
            else
            {
                var remotePeers = Obs(link.Remote).Read(KindRef.Smp, link.Remote.Namespace);
                if (remotePeers.Ok)
                    Add(CheckCatalogue.PeerBothSides, mesh, peer, CheckStatus.Fail, $"{link.Remote} has no ServiceMeshPeer pointing back at {mesh}",
                        $"create a ServiceMeshPeer for {mesh.Name} in {link.Remote.Namespace} (New-MeshPeer creates both directions)",
                        linkEvidence.Append(Ev.Read(Obs(link.Remote), remotePeers, Ev.Obj("ServiceMeshPeer", link.Remote.Namespace, "*"), null,
                            link.Remote.Peers.Count == 0 ? "none" : string.Join(", ", link.Remote.Peers.Select(ObservedMesh.NameOf)) + " (none points at this mesh)")));
                else
                    Add(CheckCatalogue.PeerBothSides, mesh, peer, CheckStatus.Skip, $"the ServiceMeshPeers of {link.Remote} could not be read",
                        "give the checks read access to servicemeshpeers in the peer's namespace", new[] { Ev.Unreadable(Obs(link.Remote), remotePeers, "ServiceMeshPeers") });
            }

            PeerIdentity(link, peer);
            PeerAddress(link, peer);
            PeerConnected(mesh, smp, peer);
            PeerSyncAge(mesh, smp, peer);
            IngressAddress(mesh, peer, ingressName);
        }

        private void FederationGateways(ObservedMesh mesh, JsonObject smp, string peer, string ingressName, string egressName)
        {
            if (mesh.ControlPlane is null)
            {
                Add(CheckCatalogue.FederationGateways, mesh, peer, CheckStatus.Fail, $"no ServiceMeshControlPlane in {mesh.Namespace} to configure gateways {ingressName} and {egressName}",
                    "create the control plane with this peer's gateways", new[] { SmpEv(mesh, smp, "spec.gateways", $"ingress {ingressName}, egress {egressName}") });
                return;
            }
            var problems = new List<string>();
            var evidence = new List<MeshEvidence> { SmpEv(mesh, smp, "spec.gateways", $"ingress {Ev.Str(ingressName)}, egress {Ev.Str(egressName)}") };
            void Gateway(string role, string name, string discoveryPortName)
            {
                var key = role == "ingress" ? "additionalIngress" : "additionalEgress";
                var gw = mesh.ControlPlane["spec"]?["gateways"]?[key]?[name];
                if (string.IsNullOrEmpty(name)) { problems.Add($"spec.gateways.{role}.name is empty"); return; }
                evidence.Add(SmcpEv(mesh, $"spec.gateways.{key}.{name}", gw is null ? "(none)" : $"enabled={Ev.Str(gw["enabled"])}, ports={Ev.Str(gw["service"]?["ports"])}, labels={Ev.Str(gw["service"]?["metadata"]?["labels"])}"));
                if (gw is null) { problems.Add($"no {key} gateway '{name}' on the SMCP"); return; }
                if (gw["enabled"].B() == false) problems.Add($"gateway '{name}' is disabled");
                var ports = (gw["service"]?["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
                if (!ports.Any(p => p["port"].I() == MeshPeering.DefaultServicePort && p["name"].S() == "tls")) problems.Add($"gateway '{name}' has no port 15443 named tls");
                if (!ports.Any(p => p["port"].I() == MeshPeering.DefaultDiscoveryPort && p["name"].S() == discoveryPortName)) problems.Add($"gateway '{name}' has no port 8188 named {discoveryPortName}");
                var label = $"federation.maistra.io/{role}-for";
                if (gw["service"]?["metadata"]?["labels"]?[label] is null) problems.Add($"gateway '{name}' has no {label} label (its Service would select the default gateway's pods)");
            }
            Gateway("ingress", ingressName, "https-discovery");
            Gateway("egress", egressName, "http-discovery");
            Add(CheckCatalogue.FederationGateways, mesh, peer, problems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                problems.Count == 0 ? $"ingress {ingressName} and egress {egressName} are configured for {peer}" : string.Join("; ", problems),
                "render the control plane with this peering (New-MeshPeer | Sync-MeshFederation) or fix spec.gateways.additionalIngress/additionalEgress", evidence);
        }

        private void PeerRootCertificate(PeerLink link, string peer)
        {
            var mesh = link.Local;
            var c = Obs(mesh);
            var cmName = link.Smp["spec"]?["security"]?["certificateChain"]?["name"].S() ?? Names.CaConfigMapName(peer);
            var local = c.ReadOne(KindRef.ConfigMap, mesh.Namespace, cmName);
            var localObj = Ev.Obj("ConfigMap", mesh.Namespace, cmName);
            if (!local.Ok)
            {
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Skip, $"ConfigMap {cmName} could not be read", "give the checks read access to ConfigMaps in the control-plane namespace",
                    new[] { Ev.Unreadable(c, local, localObj) });
                return;
            }
            var bundle = Ev.Certificates(local.Items.FirstOrDefault()?["data"]?[Names.RootCertKey].S());
            if (local.Items.Count == 0 || bundle.Count == 0)
            {
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Fail,
                    local.Items.Count == 0 ? $"ConfigMap {mesh.Namespace}/{cmName} does not exist" : $"ConfigMap {mesh.Namespace}/{cmName} holds no certificate under {Names.RootCertKey}",
                    $"copy {peer}'s istio-ca-root-cert (root-cert.pem) into ConfigMap {cmName} (Sync-MeshFederation does this)",
                    new[] { Ev.Read(c, local, localObj, $"data.{Names.RootCertKey}", local.Items.Count == 0 ? "not found" : "no certificate") });
                return;
            }
            var localEv = Ev.Read(c, local, localObj, $"data.{Names.RootCertKey}", Ev.Bundle(bundle));
            if (link.Remote is null)
            {
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Skip, $"the mesh {peer} stands for was not observed, so its current root is unknown",
                    "include the peer's cluster (context, or snapshot folder)", link.Evidence.Append(localEv));
                return;
            }
            var rc = Obs(link.Remote);
            var remote = rc.ReadOne(KindRef.ConfigMap, link.Remote.Namespace, "istio-ca-root-cert");
            var remoteObj = Ev.Obj("ConfigMap", link.Remote.Namespace, "istio-ca-root-cert");
            var roots = Ev.Certificates(remote.Items.FirstOrDefault()?["data"]?[Names.RootCertKey].S());
            if (!remote.Ok || roots.Count == 0)
            {
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Skip,
                    remote.Ok ? $"{link.Remote} publishes no root (istio-ca-root-cert) to compare with" : $"the root of {link.Remote} could not be read",
                    "check that the peer's control plane is running (istiod publishes istio-ca-root-cert)",
                    new[] { localEv, remote.Ok ? Ev.Read(rc, remote, remoteObj, $"data.{Names.RootCertKey}", "not found") : Ev.Unreadable(rc, remote, remoteObj) });
                return;
            }
            var missing = roots.Where(r => !bundle.Contains(r, StringComparer.Ordinal)).ToList();
            var extra = bundle.Where(b => !roots.Contains(b, StringComparer.Ordinal)).ToList();
            var evidence = new List<MeshEvidence> { localEv, Ev.Read(rc, remote, remoteObj, $"data.{Names.RootCertKey}", Ev.Bundle(roots)) };
            // A root rotation of the peer (meshfed ca rotate --mesh): its record in the peer's namespace names the old and new roots.
            var state = rc.ReadOne(KindRef.ConfigMap, link.Remote.Namespace, PeerRootRotation.StateConfigMap);
            var annotations = state.Items.FirstOrDefault()?["metadata"]?["annotations"];
            var stage = annotations?[RootRotation.StageAnnotation].S();
            string? oldFp = annotations?[RootRotation.OldRootAnnotation].S(), newFp = annotations?[RootRotation.NewRootAnnotation].S();
            if (stage is not null)
                evidence.Add(Ev.Read(rc, state, Ev.Obj("ConfigMap", link.Remote.Namespace, PeerRootRotation.StateConfigMap), $"metadata.annotations.{RootRotation.StageAnnotation}",
                    $"{stage} (old {oldFp?[..Math.Min(16, oldFp.Length)]}..., new {newFp?[..Math.Min(16, newFp.Length)]}...)"));
            var rotating = stage is "trust-added" or "reissued";
            bool Is(string cert, string? fp) => fp is not null && string.Equals(Fingerprint(cert), fp, StringComparison.OrdinalIgnoreCase);
            var fix = $"copy {link.Remote.Name}'s istio-ca-root-cert (root-cert.pem) into ConfigMap {mesh.Namespace}/{cmName} (Sync-MeshFederation does this)";
            if (missing.Count > 0)
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Fail,
                    $"{cmName} does not hold {link.Remote.Name}'s current root certificate ({Ev.Bundle(missing)})"
                    + (rotating ? $"; {link.Remote.Name}'s root rotation is at stage {stage}" : ""),
                    rotating ? $"run meshfed ca rotate --mesh {link.Remote.Name} --phase trust-add again (Start-MeshRootRotation -Mesh {link.Remote.Name}): it resumes" : fix, evidence);
            else if (extra.Count == 0)
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Pass,
                    $"{cmName} holds {link.Remote.Name}'s current root certificate" + (rotating ? $" ({link.Remote.Name}'s root rotation is at stage {stage})" : ""), fix, evidence);
            else if (rotating && extra.All(e => Is(e, oldFp) || Is(e, newFp)))
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Pass,
                    $"{cmName} holds {link.Remote.Name}'s old and new roots while its root rotation is at stage {stage}: old {Ev.Bundle(bundle.Where(b => Is(b, oldFp)))}; new {Ev.Bundle(bundle.Where(b => Is(b, newFp)))}",
                    fix, evidence);
            else
                Add(CheckCatalogue.PeerRootCertificate, mesh, peer, CheckStatus.Warn,
                    stage == "completed" && extra.Any(e => Is(e, oldFp))
                        ? $"{link.Remote.Name}'s root rotation is completed, but {cmName} still holds the old root ({Ev.Bundle(extra)}): the overlap lingers"
                        : $"{cmName} holds root(s) {link.Remote.Name} does not publish ({Ev.Bundle(extra)}): a stale root is still trusted",
                    stage == "completed"
                        ? $"run meshfed ca rotate --mesh {link.Remote.Name} --phase trust-remove again (Step-MeshRootRotation -Mesh {link.Remote.Name} -Phase TrustRemove)"
                        : $"remove the stale root from ConfigMap {mesh.Namespace}/{cmName}, or rotate with meshfed ca rotate --mesh {link.Remote.Name}", evidence);
        }

        private static string Fingerprint(string certificateBase64)
        {
            try
            {
                return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Convert.FromBase64String(certificateBase64)));
            }
            catch (FormatException)
            {
                return "";
            }
        }

        private void PeerIdentity(PeerLink link, string peer)
        {
            var mesh = link.Local;
            var security = link.Smp["spec"]?["security"];
            var td = security?["trustDomain"].S();
            var client = security?["clientID"].S();
            var evidence = new List<MeshEvidence> { SmpEv(mesh, link.Smp, "spec.security.trustDomain", td ?? "(not set)"), SmpEv(mesh, link.Smp, "spec.security.clientID", client ?? "(not set)") };
            if (link.Remote is null)
            {
                Add(CheckCatalogue.PeerIdentity, mesh, peer, CheckStatus.Skip, $"the mesh {peer} stands for was not observed: {link.Why}",
                    "include the peer's cluster (context, or snapshot folder)", evidence.Concat(link.Evidence));
                return;
            }
            var remote = link.Remote;
            evidence.Add(SmcpEv(remote, "spec.security.trust.domain", remote.TrustDomain));
            var problems = new List<string>();
            if (!string.Equals(td, remote.TrustDomain, StringComparison.OrdinalIgnoreCase)) problems.Add($"trustDomain is {td ?? "(not set)"} but {remote.Name}'s is {remote.TrustDomain}");
            string? expected = null;
            if (link.Back?["spec"]?["gateways"]?["egress"]?["name"].S() is { Length: > 0 } egress)
            {
                expected = Names.ClientId(remote.TrustDomain, remote.Namespace, egress);
                evidence.Add(SmpEv(remote, link.Back, "spec.gateways.egress.name", egress));
                if (client != expected) problems.Add($"clientID is {client ?? "(not set)"}, expected {expected} ({remote.Name}'s egress gateway for this mesh)");
            }
            else
            {
                var egresses = (remote.ControlPlane?["spec"]?["gateways"]?["additionalEgress"] as JsonObject)?.Select(kv => kv.Key).ToList() ?? new List<string>();
                var candidates = egresses.Select(e => Names.ClientId(remote.TrustDomain, remote.Namespace, e)).ToList();
                evidence.Add(SmcpEv(remote, "spec.gateways.additionalEgress", egresses.Count == 0 ? "(none)" : string.Join(", ", egresses)));
                if (!candidates.Contains(client ?? "", StringComparer.Ordinal))
                    problems.Add(candidates.Count == 0 ? $"clientID is {client ?? "(not set)"}, but {remote.Name} has no egress gateway"
                        : $"clientID is {client ?? "(not set)"}, which is none of {remote.Name}'s egress gateways ({string.Join(", ", candidates)})");
                else expected = client;
            }
            Add(CheckCatalogue.PeerIdentity, mesh, peer, problems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                problems.Count == 0 ? $"trust domain {td} and clientID {client} are {remote.Name}'s" : string.Join("; ", problems),
                $"set spec.security.trustDomain to {remote.TrustDomain}{(expected is null ? "" : $" and clientID to {expected}")}",
                evidence.Concat(link.Evidence));
        }

        private void PeerAddress(PeerLink link, string peer)
        {
            var mesh = link.Local;
            var remoteSpec = link.Smp["spec"]?["remote"];
            var addresses = (remoteSpec?["addresses"] as JsonArray)?.Select(a => a.S()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToList() ?? new List<string>();
            var d = remoteSpec?["discoveryPort"].I() ?? MeshPeering.DefaultDiscoveryPort;
            var s = remoteSpec?["servicePort"].I() ?? MeshPeering.DefaultServicePort;
            var pointsAt = $"{(addresses.Count == 0 ? "(no address)" : string.Join(", ", addresses))} (discovery {d}, service {s})";
            var evidence = new List<MeshEvidence> { SmpEv(mesh, link.Smp, "spec.remote", pointsAt) };
            if (addresses.Count == 0)
            {
                Add(CheckCatalogue.PeerAddress, mesh, peer, CheckStatus.Fail, "spec.remote.addresses is empty", $"set spec.remote.addresses to {peer}'s ingress gateway address", evidence);
                return;
            }
            if (link.Remote is null)
            {
                Add(CheckCatalogue.PeerAddress, mesh, peer, CheckStatus.Skip, $"points at {pointsAt}; the mesh there was not observed, so its gateway's address is unknown",
                    "include the peer's cluster (context, or snapshot folder)", evidence.Concat(link.Evidence));
                return;
            }
            var remote = link.Remote;
            var rc = Obs(remote);
            // The remote ingress gateway for this mesh: named by the ServiceMeshPeer pointing back, else any of its federation ingress gateways.
            var gatewayNames = link.Back?["spec"]?["gateways"]?["ingress"]?["name"].S() is { Length: > 0 } g ? new List<string> { g }
                : (remote.ControlPlane?["spec"]?["gateways"]?["additionalIngress"] as JsonObject)?.Select(kv => kv.Key).ToList() ?? new List<string>();
            var expected = new List<(string Address, int Discovery, int Service, string How)>();
            var unreadable = new List<MeshEvidence>();
            foreach (var name in gatewayNames)
                foreach (var e in GatewayEndpoints(remote, name, evidence, unreadable)) expected.Add(e);
            foreach (var e in ProxyEndpoints(mesh, peer, remote)) { expected.Add((e.Address, e.Discovery, e.Service, e.How)); evidence.Add(e.Evidence); }
            bool Same(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);
            var matched = addresses.Where(a => expected.Any(x => Same(x.Address, a) && x.Discovery == d && x.Service == s)).ToList();
            var wrongPorts = addresses.Where(a => !matched.Contains(a) && expected.Any(x => Same(x.Address, a))).ToList();
            var gatewayText = string.Join("; ", expected.Select(x => $"{x.Address}:{x.Discovery}/{x.Service} ({x.How})").Distinct());
            if (expected.Count == 0)
            {
                Add(CheckCatalogue.PeerAddress, mesh, peer, CheckStatus.Skip,
                    unreadable.Count > 0 ? $"points at {pointsAt}; {remote.Name}'s ingress gateway could not be read" : $"points at {pointsAt}; {remote.Name}'s ingress gateway {string.Join(", ", gatewayNames)} has no address yet to compare with",
                    $"see OSSM2.IngressAddress of {remote.Name}", evidence.Concat(unreadable).Concat(link.Evidence));
                return;
            }
            var hostnames = addresses.Where(a => !System.Net.IPAddress.TryParse(a, out _)).ToList();
            var status = matched.Count == addresses.Count ? CheckStatus.Pass
                : matched.Count > 0 ? CheckStatus.Warn
                : wrongPorts.Count > 0 ? CheckStatus.Fail
                : hostnames.Count == addresses.Count && expected.All(x => System.Net.IPAddress.TryParse(x.Address, out _)) ? CheckStatus.Warn // a DNS name may resolve to the gateway
                : remote.ControlPlane is not null && IsNodePort(remote, gatewayNames) && !IntendedHasProxy ? CheckStatus.Warn // may be a proxy in front of the nodes
                : CheckStatus.Fail;
            var message = status == CheckStatus.Pass ? $"points at {pointsAt}, {remote.Name}'s ingress gateway for this mesh"
                : wrongPorts.Count > 0 && matched.Count == 0 ? $"points at {pointsAt}, but {remote.Name}'s ingress gateway is at {gatewayText}: the ports differ"
                : status == CheckStatus.Warn && matched.Count > 0 ? $"points at {pointsAt}; only {string.Join(", ", matched)} is {remote.Name}'s ingress gateway ({gatewayText})"
                : status == CheckStatus.Warn && hostnames.Count == addresses.Count ? $"points at {pointsAt}; {remote.Name}'s ingress gateway is at {gatewayText}: check that the name resolves there"
                : status == CheckStatus.Warn ? $"points at {pointsAt}, not at {remote.Name}'s nodes ({gatewayText}); if that is a proxy in front of them, give the topology (proxy:) to verify it"
                : $"points at {pointsAt}, but {remote.Name}'s ingress gateway is at {gatewayText}";
            Add(CheckCatalogue.PeerAddress, mesh, peer, status, message,
                $"set spec.remote.addresses (and discoveryPort/servicePort) of ServiceMeshPeer {mesh.Namespace}/{peer} to {gatewayText} (Sync-MeshFederation reads them from the cluster)",
                evidence.Concat(link.Evidence));
        }

        private bool IntendedHasProxy => _intended?.ProxyConfigs.Count > 0 || _intended?.PendingProxy is not null;

        private static bool IsNodePort(ObservedMesh remote, List<string> gateways)
        {
            var c = Obs(remote);
            return gateways.Any(g => c.ReadOne(KindRef.Service, remote.Namespace, g).Items.Concat(c.ReadOne(KindRef.Service, remote.Namespace, g + "-nodeport").Items)
                .Any(svc => svc["spec"]?["type"].S() == "NodePort"));
        }

        /// <summary>Where a gateway Service is reachable from outside: its LoadBalancer address on the service ports, and node addresses on its node ports.</summary>
        private static IEnumerable<(string Address, int Discovery, int Service, string How)> GatewayEndpoints(ObservedMesh remote, string gateway, List<MeshEvidence> evidence, List<MeshEvidence> unreadable)
        {
            var c = Obs(remote);
            foreach (var name in new[] { gateway, gateway + "-nodeport" })
            {
                var read = c.ReadOne(KindRef.Service, remote.Namespace, name);
                var obj = Ev.Obj("Service", remote.Namespace, name);
                if (!read.Ok) { if (name == gateway) unreadable.Add(Ev.Unreadable(c, read, obj)); continue; }
                if (read.Items.Count == 0) { if (name == gateway) evidence.Add(Ev.Read(c, read, obj, null, "not found")); continue; }
                var svc = read.Items[0];
                var ports = (svc["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
                JsonObject? Port(string n) => ports.FirstOrDefault(p => p["name"].S() == n);
                var disc = Port("https-discovery");
                var tls = Port("tls");
                var lb = (svc["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>().Select(i => i["ip"].S() ?? i["hostname"].S()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToList() ?? new List<string>();
                var type = svc["spec"]?["type"].S() ?? "ClusterIP";
                evidence.Add(Ev.Read(c, read, obj, "spec.type, spec.ports, status.loadBalancer.ingress",
                    $"{type}; ports {string.Join(", ", ports.Select(p => $"{Ev.Str(p["name"])} {Ev.Str(p["port"])}{(p["nodePort"] is null ? "" : "/node " + Ev.Str(p["nodePort"]))}"))}; address {(lb.Count == 0 ? "(none)" : string.Join(", ", lb))}"));
                // A Service without the named federation ports still serves the gateway's 8188/15443 (OSSM2.FederationGateways judges the names).
                var dp = disc?["port"].I() ?? MeshPeering.DefaultDiscoveryPort;
                var sp = tls?["port"].I() ?? MeshPeering.DefaultServicePort;
                foreach (var a in lb) yield return (a, dp, sp, $"LoadBalancer of {name}");
                // Node ports count for NodePort Services only: a LoadBalancer Service has node ports too, but peers are meant to use its address.
                if (type == "NodePort" && disc?["nodePort"].I() is { } dn && tls?["nodePort"].I() is { } sn)
                {
                    var nodes = c.Read(KindRef.Node);
                    if (!nodes.Ok) { unreadable.Add(Ev.Unreadable(c, nodes, "Nodes")); continue; }
                    var nodeAddresses = NodeAddresses(nodes.Items);
                    if (nodeAddresses.Count > 0) evidence.Add(Ev.Read(c, nodes, "Nodes", "status.addresses (InternalIP, ExternalIP)", string.Join(", ", nodeAddresses)));
                    foreach (var a in nodeAddresses) yield return (a, dn, sn, $"node port of {name}");
                }
            }
        }

        internal static List<string> NodeAddresses(IEnumerable<JsonObject> nodes) =>
            nodes.SelectMany(n => (n["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Where(a => a["type"].S() is "InternalIP" or "ExternalIP").Select(a => a["address"].S())
                .Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).Distinct(StringComparer.Ordinal).ToList();

        /// <summary>A federation proxy of the topology in front of the remote mesh: where it listens for this peering.</summary>
        private IEnumerable<(string Address, int Discovery, int Service, string How, MeshEvidence Evidence)> ProxyEndpoints(ObservedMesh mesh, string peer, ObservedMesh remote)
        {
            if (_intended is null || mesh.Intended is null || _intended.ProxyConfigs.Count == 0) yield break;
            var p = _intended.Peerings.FirstOrDefault(x => x.Local == mesh.Intended && x.Remote.Name == peer);
            if (p is null || p.Remote.GatewayExposure != GatewayExposure.NodePort) yield break;
            var proxy = _intended.ProxyConfigs[0];
            var (addresses, d, s) = Ossm2Renderer.RemoteEndpoint(p, NodePorts(), proxy);
            foreach (var a in addresses)
                yield return (a, d, s, "federation proxy of the topology", Ev.Declared(p.Local, "federation proxy", $"frontend for {remote.Name}", $"{a}:{d}/{s}"));
        }

        private IReadOnlyDictionary<(string, string), Proxy.GatewayNodePorts>? _nodePortsCache;

        /// <summary>The topology's node ports, computed once per run (not once per peering).</summary>
        private IReadOnlyDictionary<(string, string), Proxy.GatewayNodePorts> NodePorts()
        {
            if (_nodePortsCache is not null) return _nodePortsCache;
            var nodePorts = _intended!.NodePorts(new ProblemList()).ToDictionary(kv => kv.Key, kv => kv.Value);
            foreach (var x in _intended.ProxyConfigs) foreach (var (key, ports) in x.NodePorts) nodePorts[key] = ports;
            return _nodePortsCache = nodePorts;
        }

        internal static string DiscoverySummary(JsonObject smp)
        {
            var status = smp["status"]?["discoveryStatus"];
            var active = (status?["active"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            var inactive = (status?["inactive"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            if (active.Count == 0 && inactive.Count == 0) return "no discovery status";
            return string.Join(", ", active.Select(a => $"active {Ev.Str(a["pod"])}").Concat(inactive.Select(i =>
                $"inactive {Ev.Str(i["pod"])}: watch not connected, lastDisconnectStatus {Ev.Str(i["watch"]?["lastDisconnectStatus"])}")));
        }

        private static string WatchText(JsonNode? w) =>
            w is null ? "(none)" : string.Join(", ", new[] { "connected", "lastConnected", "lastDisconnect", "lastDisconnectStatus", "lastFullSync", "lastEvent" }
                .Where(k => w[k] is not null).Select(k => $"{k}={Ev.Str(w[k])}"));

        private void PeerConnected(ObservedMesh mesh, JsonObject smp, string peer)
        {
            var c = Obs(mesh);
            var status = smp["status"]?["discoveryStatus"];
            var active = (status?["active"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            var inactive = (status?["inactive"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            var evidence = new List<MeshEvidence>();
            foreach (var (list, state) in new[] { (active, "active"), (inactive, "inactive") })
                foreach (var a in list)
                {
                    evidence.Add(SmpEv(mesh, smp, $"status.discoveryStatus.{state}[{Ev.Str(a["pod"])}].watch", WatchText(a["watch"])));
                    foreach (var r in (a["remotes"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                        evidence.Add(SmpEv(mesh, smp, $"status.discoveryStatus.{state}[{Ev.Str(a["pod"])}].remotes[{Ev.Str(r["source"])}]", WatchText(r)));
                }
            var problems = new List<string>();
            if (active.Count == 0)
                problems.Add(inactive.Count > 0
                    ? $"istiod pods inactive (watch to {peer} not connected): {string.Join(", ", inactive.Select(a => $"{Ev.Str(a["pod"])} (lastDisconnectStatus {Ev.Str(a["watch"]?["lastDisconnectStatus"])})"))}"
                    : "no discovery status (not connected yet)");
            foreach (var a in active)
            {
                var pod = Ev.Str(a["pod"]);
                if (a["watch"]?["connected"].B() != true) problems.Add($"{pod}: watch to {peer} not connected");
                var remotes = (a["remotes"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
                if (remotes.Count == 0) problems.Add($"{pod}: no inbound watch from {peer}");
                foreach (var rr in remotes.Where(r => r["connected"].B() != true)) problems.Add($"{pod}: inbound watch from {Ev.Str(rr["source"])} not connected");
            }
            if (active.Count > 0)
                foreach (var i in inactive) problems.Add($"{Ev.Str(i["pod"])} is inactive (lastDisconnectStatus {Ev.Str(i["watch"]?["lastDisconnectStatus"])})");
            var pods = c.Read(KindRef.Pod, mesh.Namespace, "app=istiod");
            if (pods.Ok)
            {
                evidence.Add(Ev.Read(c, pods, Ev.Obj("Pod", mesh.Namespace, "-l app=istiod"), null, pods.Items.Count == 0 ? "none" : string.Join(", ", pods.Items.Select(ObservedMesh.NameOf))));
                foreach (var pod in pods.Items.Select(ObservedMesh.NameOf).Where(p => !active.Any(a => a["pod"].S() == p) && !inactive.Any(a => a["pod"].S() == p)))
                    problems.Add($"istiod pod {pod} is not listed in the discovery status");
            }
            if (evidence.Count == 0) evidence.Add(SmpEv(mesh, smp, "status.discoveryStatus", "(none)"));
            Add(CheckCatalogue.PeerConnected, mesh, peer, problems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                problems.Count == 0 ? $"{active.Count} istiod pod(s) connected both ways to {peer}" : string.Join("; ", problems),
                $"check istiod's log, the egress gateway for {peer} and {peer}'s ingress gateway for this mesh (addresses, ports, certificates)", evidence);
        }

        private void PeerSyncAge(ObservedMesh mesh, JsonObject smp, string peer)
        {
            var c = Obs(mesh);
            var read = c.Read(KindRef.Smp);
            var now = _options.Now ?? read.At;
            var status = smp["status"]?["discoveryStatus"];
            var active = (status?["active"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            var asOf = new MeshEvidence { Cluster = c.Cluster, Object = "ages measured", Value = $"as of {Ev.Time(now)} ({(_options.Now is null ? $"when read from {read.Source}" : "--as-of")}); warn after {Ev.Age(_options.WarnAfter)}, fail after {Ev.Age(_options.FailAfter)} (resync period {Ev.Age(_options.ResyncPeriod)})", ObservedAt = read.At, Source = read.Source };
            if (active.Count == 0)
            {
                Add(CheckCatalogue.PeerSyncAge, mesh, peer, CheckStatus.Skip, "no istiod pod is active (its watch is down), so there is no current sync to age; see OSSM2.PeerConnected",
                    "", new[] { SmpEv(mesh, smp, "status.discoveryStatus.active", "(none)") });
                return;
            }
            var evidence = new List<MeshEvidence> { asOf };
            var ages = new List<(string Pod, TimeSpan Age, DateTimeOffset At)>();
            var missing = new List<string>();
            foreach (var a in active)
            {
                var pod = Ev.Str(a["pod"]);
                var last = Ev.ParseTime(a["watch"]?["lastFullSync"]);
                evidence.Add(SmpEv(mesh, smp, $"status.discoveryStatus.active[{pod}].watch.lastFullSync", last is null ? "(not set)" : Ev.Time(last.Value)));
                if (last is null) missing.Add(pod);
                else ages.Add((pod, now - last.Value, last.Value));
                foreach (var r in (a["remotes"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    if (Ev.ParseTime(r["lastFullSync"]) is { } rl)
                        evidence.Add(SmpEv(mesh, smp, $"status.discoveryStatus.active[{pod}].remotes[{Ev.Str(r["source"])}].lastFullSync",
                            $"{Ev.Time(rl)} ({Ev.Age(now - rl)} old; the peer's pulls from this mesh, judged on the peer's own ServiceMeshPeer)"));
            }
            if (ages.Count == 0)
            {
                Add(CheckCatalogue.PeerSyncAge, mesh, peer, CheckStatus.Warn, $"connected, but no full sync of {peer}'s services is recorded ({string.Join(", ", missing)})",
                    "look at istiod's log for failed /v1/services requests to the peer", evidence);
                return;
            }
            var oldest = ages.OrderByDescending(x => x.Age).First();
            var state = oldest.Age > _options.FailAfter ? CheckStatus.Fail : oldest.Age > _options.WarnAfter || missing.Count > 0 ? CheckStatus.Warn : CheckStatus.Pass;
            var periods = oldest.Age.TotalSeconds / _options.ResyncPeriod.TotalSeconds;
            Add(CheckCatalogue.PeerSyncAge, mesh, peer, state,
                $"last full sync of {peer}'s services was {Ev.Age(oldest.Age)} ago ({Ev.Time(oldest.At)}, {oldest.Pod}): {periods:0.#} resync period(s)"
                + (missing.Count > 0 ? $"; no full sync recorded by {string.Join(", ", missing)}" : ""),
                "restart the watch (the istiod pod) and look for gateway or network problems between the meshes; a clock far off on either side shows as an old sync too",
                evidence);
        }

        private void IngressAddress(ObservedMesh mesh, string peer, string ingressName)
        {
            var c = Obs(mesh);
            var evidence = new List<MeshEvidence>();
            var unreadable = new List<MeshEvidence>();
            var endpoints = string.IsNullOrEmpty(ingressName) ? new List<(string Address, int Discovery, int Service, string How)>() : GatewayEndpoints(mesh, ingressName, evidence, unreadable).ToList();
            if (unreadable.Count > 0 && endpoints.Count == 0)
            {
                Add(CheckCatalogue.IngressAddress, mesh, peer, CheckStatus.Skip, $"the Service of ingress gateway {ingressName} (or the nodes) could not be read", "give the checks read access to Services and Nodes", unreadable);
                return;
            }
            var svc = evidence.Count == 0 ? null : c.ReadOne(KindRef.Service, mesh.Namespace, ingressName).Items.FirstOrDefault();
            var lb = endpoints.Where(e => e.How.StartsWith("LoadBalancer", StringComparison.Ordinal)).Select(e => e.Address).Distinct().ToList();
            var nodes = endpoints.Where(e => e.How.StartsWith("node port", StringComparison.Ordinal)).ToList();
            var (status, message) = string.IsNullOrEmpty(ingressName) ? (CheckStatus.Fail, "the ServiceMeshPeer names no ingress gateway")
                : lb.Count > 0 ? (CheckStatus.Pass, $"{ingressName} has LoadBalancer address {string.Join(", ", lb)}")
                : nodes.Count > 0 ? (CheckStatus.Pass, $"{ingressName} is exposed on node ports {nodes[0].Discovery} (discovery) and {nodes[0].Service} (service) of {nodes.Select(n => n.Address).Distinct().Count()} node(s)")
                : evidence.Count == 0 ? (CheckStatus.Fail, $"no Service {ingressName} in {mesh.Namespace}")
                : svc?["spec"]?["type"].S() == "LoadBalancer" ? (CheckStatus.Fail, $"{ingressName}'s LoadBalancer is pending (no address)")
                : unreadable.Count > 0 ? (CheckStatus.Skip, $"{ingressName} has node ports but the nodes could not be read")
                : (CheckStatus.Fail, $"{ingressName} is neither a LoadBalancer with an address nor exposed on node ports of known nodes");
            if (evidence.Count == 0) evidence.Add(Ev.Read(c, c.Read(KindRef.Service, mesh.Namespace), Ev.Obj("Service", mesh.Namespace, ingressName), null, "not found"));
            Add(CheckCatalogue.IngressAddress, mesh, peer, status, message,
                "check the cloud or MetalLB load balancer, or expose the gateway with NodePort and a proxy (New-FederationProxyConfig)", evidence.Concat(unreadable));
        }

        // ---------------------------------------------------------------- exports and imports

        private static MeshEvidence SetEv(ObservedMesh m, KindRef kind, JsonObject o, string? field, string? value) =>
            Ev.Read(Obs(m), Obs(m).Read(kind), Ev.Obj(kind.Kind, m.Namespace, ObservedMesh.NameOf(o)), field, value);

        private void ExportChecks(ObservedMesh mesh, JsonObject ess)
        {
            var name = ObservedMesh.NameOf(ess);
            var peers = Obs(mesh).Read(KindRef.Smp, mesh.Namespace);
            var named = mesh.Peers.Any(p => ObservedMesh.NameOf(p) == name);
            if (!peers.Ok)
                Add(CheckCatalogue.ExportSetNamedAfterPeer, mesh, name, CheckStatus.Skip, "the ServiceMeshPeers could not be read to compare names", "", new[] { Ev.Unreadable(Obs(mesh), peers, "ServiceMeshPeers") });
            else
                Add(CheckCatalogue.ExportSetNamedAfterPeer, mesh, name, named ? CheckStatus.Pass : CheckStatus.Fail,
                    named ? $"ExportedServiceSet {name} matches ServiceMeshPeer {name}" : $"ExportedServiceSet {name} matches no ServiceMeshPeer in {mesh.Namespace}",
                    $"rename the ExportedServiceSet after the peer it exports to (one of: {string.Join(", ", mesh.Peers.Select(ObservedMesh.NameOf))})",
                    new[] { SetEv(mesh, KindRef.Ess, ess, "metadata.name", name), Ev.Read(Obs(mesh), peers, Ev.Obj("ServiceMeshPeer", mesh.Namespace, "*"), "metadata.name", mesh.Peers.Count == 0 ? "none" : string.Join(", ", mesh.Peers.Select(ObservedMesh.NameOf))) });

            var statusList = ess["status"]?["exportedServices"] as JsonArray;
            var exported = statusList?.OfType<JsonObject>().Select(e => e["exportedName"].S()).Where(e => e is not null).Select(e => e!).ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>(StringComparer.Ordinal);
            var statusEv = SetEv(mesh, KindRef.Ess, ess, "status.exportedServices", statusList is null ? "(no status)" : exported.Count == 0 ? "[]" : string.Join(", ", exported.Order(StringComparer.Ordinal)));
            var expected = ExpectedExports(mesh, ess).ToList();
            if (expected.Count == 0)
            {
                var rules = Ev.Str(ess["spec"]?["exportRules"]);
                Add(CheckCatalogue.ExportActive, mesh, name,
                    statusList is null ? CheckStatus.Fail : exported.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                    statusList is null ? $"istiod has written no status for ExportedServiceSet {name}" : exported.Count > 0 ? $"{exported.Count} service(s) exported to {name}" : $"nothing is exported to {name}",
                    statusList is null ? $"check that the control plane is Ready and a ServiceMeshPeer named {name} exists" : "check the export rules: the services must exist in member namespaces and be visible to the control-plane namespace",
                    new[] { SetEv(mesh, KindRef.Ess, ess, "spec.exportRules", rules), statusEv });
                return;
            }
            foreach (var host in expected)
                Add(CheckCatalogue.ExportActive, mesh, name, statusList is null ? CheckStatus.Fail : exported.Contains(host) ? CheckStatus.Pass : CheckStatus.Fail,
                    exported.Contains(host) ? $"{host} is exported" : statusList is null ? $"{host} is not exported: istiod has written no status" : $"{host} is not in the ExportedServiceSet status",
                    "check that the service exists, that its namespace is in the ServiceMeshMemberRoll and not hidden by exportTo", new[] { statusEv });
        }

        private IEnumerable<string> ExpectedExports(ObservedMesh mesh, JsonObject ess)
        {
            var peer = ObservedMesh.NameOf(ess);
            if (_intended is not null && mesh.Intended is not null)
                return _intended.Exports.Where(e => e.ControlPlane == mesh.Intended && e.Peer == peer && e.ExportedHost is not null).Select(e => e.ExportedHost!);
            return ((ess["spec"]?["exportRules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Where(r => r["type"].S() == "NameSelector")
                .Select(r => r["nameSelector"])
                .Select(s => (Ns: Pick(s?["alias"]?["namespace"], s?["namespace"]), Name: Pick(s?["alias"]?["name"], s?["name"])))
                .Where(x => !Names.IsWildcard(x.Ns) && !Names.IsWildcard(x.Name))
                .Select(x => Names.ExportedHost(x.Name!, x.Ns!, peer));
        }

        private static string? Pick(JsonNode? alias, JsonNode? original)
        {
            var a = alias.S();
            return Names.IsWildcard(a) ? original.S() : a;
        }

        private void ImportChecks(ObservedMesh mesh, JsonObject iss)
        {
            var peer = ObservedMesh.NameOf(iss);
            var statusList = iss["status"]?["importedServices"] as JsonArray;
            var entries = statusList?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            var rules = (iss["spec"]?["importRules"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
            foreach (var (rule, i) in rules.Select((r, i) => (r, i)).Where(x => x.r["importAsLocal"].B() == true))
            {
                var sel = rule["nameSelector"];
                var aliasNs = sel?["alias"]?["namespace"].S();
                var ok = !Names.IsWildcard(aliasNs);
                Add(CheckCatalogue.ImportAsLocalAlias, mesh, peer, ok ? CheckStatus.Pass : CheckStatus.Fail,
                    ok ? $"importAsLocal rule for {Ev.Str(sel?["namespace"])}/{Ev.Str(sel?["name"])} has alias namespace {aliasNs}" : $"importAsLocal rule for {Ev.Str(sel?["namespace"])}/{Ev.Str(sel?["name"])} has no fixed alias namespace",
                    "set nameSelector.alias.namespace to the local namespace the service should join",
                    new[] { SetEv(mesh, KindRef.Iss, iss, $"spec.importRules[{i}].nameSelector", Ev.Str(sel)) });
            }

            var statusEv = SetEv(mesh, KindRef.Iss, iss, "status.importedServices", statusList is null ? "(no status)"
                : entries.Count == 0 ? "[]" : string.Join(", ", entries.Select(e => $"{Ev.Str(e["exportedName"])} -> {Ev.Str(e["localService"]?["hostname"])}")));
            var expected = _intended is not null && mesh.Intended is not null
                ? _intended.Imports.Where(x => x.ControlPlane == mesh.Intended && x.Peer == peer && x.LocalHost is not null).Select(x => (x.LocalNamespace, x.LocalName, Host: x.LocalHost!)).ToList()
                : rules.Select(r => r["nameSelector"]).Where(s => s is not null)
                    .Select(s => (Ns: Pick(s!["alias"]?["namespace"], s["namespace"]), Name: Pick(s["alias"]?["name"], s["name"])))
                    .Where(x => !Names.IsWildcard(x.Ns) && !Names.IsWildcard(x.Name)).Select(x => (x.Ns!, x.Name!, Host: $"{x.Name}.{x.Ns}")).ToList();
            if (expected.Count == 0)
            {
                var resolved = entries.Where(e => !string.IsNullOrEmpty(e["localService"]?["hostname"].S())).ToList();
                Add(CheckCatalogue.ImportResolved, mesh, peer,
                    statusList is null ? CheckStatus.Fail : resolved.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                    statusList is null ? $"istiod has written no status for ImportedServiceSet {peer}" : resolved.Count > 0 ? $"{resolved.Count} service(s) imported from {peer}" : $"nothing is imported from {peer}",
                    statusList is null ? $"check that the control plane is Ready and a ServiceMeshPeer named {peer} exists" : $"check that {peer} exports services to this mesh and that a rule matches their exported namespace and name",
                    new[] { SetEv(mesh, KindRef.Iss, iss, "spec.importRules", Ev.Str(iss["spec"]?["importRules"])), statusEv });
            }
            foreach (var (ns, name, host) in expected)
            {
                var entry = entries.FirstOrDefault(e => e["localService"]?["name"].S() == name && e["localService"]?["namespace"].S() == ns);
                var hostname = entry?["localService"]?["hostname"].S();
                Add(CheckCatalogue.ImportResolved, mesh, peer, !string.IsNullOrEmpty(hostname) ? CheckStatus.Pass : CheckStatus.Fail,
                    !string.IsNullOrEmpty(hostname) ? $"{ns}/{name} resolves to {hostname}" : statusList is null ? $"{ns}/{name} is not imported: istiod has written no status" : $"{ns}/{name} is not imported (no local host name in the status)",
                    $"check that {peer} exports it to {mesh.Name} and that the rule matches the exported (aliased) namespace and name",
                    new[] { statusEv, SetEv(mesh, KindRef.Iss, iss, "expected", host) });
            }

            if (statusList is null)
            {
                Add(CheckCatalogue.ImportedButUnused, mesh, peer, CheckStatus.Skip, "no status to compare with the rules", "", new[] { statusEv });
                return;
            }
            var unused = entries.Where(e => string.IsNullOrEmpty(e["localService"]?["hostname"].S())).Select(e => Ev.Str(e["exportedName"])).ToList();
            Add(CheckCatalogue.ImportedButUnused, mesh, peer, unused.Count == 0 && entries.Count > 0 ? CheckStatus.Pass : CheckStatus.Warn,
                unused.Count > 0 ? $"{unused.Count} service(s) {peer} exports are not imported: {string.Join(", ", unused)}"
                : entries.Count == 0 ? $"{peer} exports nothing to {mesh.Name}" : $"every service {peer} exports to {mesh.Name} is imported",
                "add an import rule if the service is wanted, or stop exporting it", new[] { statusEv });
        }
    }

    /// <summary>How a ServiceMeshPeer was matched to the mesh it points at.</summary>
    private sealed record PeerLink(ObservedMesh Local, JsonObject Smp, ObservedMesh? Remote, JsonObject? Back, string Why, IReadOnlyList<MeshEvidence> Evidence);

    /// <summary>
    /// Finds the mesh a ServiceMeshPeer points at: by the topology when one was given, otherwise by what the peer says
    /// (its addresses against the meshes' gateway addresses, its trust domain, the namespace in its clientID, its
    /// name) and by which mesh points back. Indexes make each lookup constant-time, so the checks stay linear in peerings.
    /// </summary>
    private sealed class PeerResolver
    {
        private readonly FederationSet? _intended;
        private readonly List<ObservedMesh> _meshes;
        private readonly Dictionary<string, List<ObservedMesh>> _byKey = new(StringComparer.OrdinalIgnoreCase);
        private readonly Dictionary<ObservedMesh, HashSet<string>> _ownKeys = new();
        private readonly Dictionary<ObservedMesh, Dictionary<string, List<JsonObject>>> _pointers = new();
        private readonly Dictionary<string, ObservedMesh> _byIdentity = new(StringComparer.Ordinal);

        public PeerResolver(IReadOnlyList<ObservedMesh> meshes, FederationSet? intended)
        {
            _intended = intended;
            _meshes = meshes.Where(m => m.ControlPlane is not null).ToList();
            foreach (var m in _meshes)
            {
                _byIdentity[m.Key] = m;
                var keys = OwnKeys(m);
                _ownKeys[m] = keys;
                foreach (var k in keys)
                {
                    if (!_byKey.TryGetValue(k, out var list)) _byKey[k] = list = new List<ObservedMesh>();
                    list.Add(m);
                }
                var pointers = new Dictionary<string, List<JsonObject>>(StringComparer.OrdinalIgnoreCase);
                foreach (var p in m.Peers)
                    foreach (var k in PointerKeys(p))
                    {
                        if (!pointers.TryGetValue(k, out var list)) pointers[k] = list = new List<JsonObject>();
                        list.Add(p);
                    }
                _pointers[m] = pointers;
            }
        }

        /// <summary>What identifies a mesh from outside: its gateway addresses, trust domain, namespace and names.</summary>
        private static HashSet<string> OwnKeys(ObservedMesh m)
        {
            var keys = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "td:" + m.TrustDomain, "ns:" + m.Namespace, "name:" + m.ControlPlaneName };
            if (m.Intended is not null) keys.Add("name:" + m.Intended.Name);
            var c = m.Observation;
            if (c is null) return keys;
            var services = c.Read(KindRef.Service, m.Namespace);
            var ingress = (m.ControlPlane?["spec"]?["gateways"]?["additionalIngress"] as JsonObject)?.Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal) ?? new HashSet<string>(StringComparer.Ordinal);
            var nodePorts = false;
            foreach (var svc in services.Items)
            {
                var name = ObservedMesh.NameOf(svc);
                if (!ingress.Contains(name) && !(name.EndsWith("-nodeport", StringComparison.Ordinal) && ingress.Contains(name[..^9]))
                    && svc["metadata"]?["labels"]?["federation.maistra.io/ingress-for"] is null) continue;
                foreach (var i in (svc["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                    if ((i["ip"] ?? i["hostname"]).S() is { Length: > 0 } a) keys.Add("addr:" + a);
                nodePorts |= svc["spec"]?["type"].S() == "NodePort";
            }
            if (nodePorts)
                foreach (var a in Ossm2.NodeAddresses(c.Read(KindRef.Node).Items)) keys.Add("addr:" + a);
            return keys;
        }

        /// <summary>What a ServiceMeshPeer says about the mesh it points at.</summary>
        private static IEnumerable<string> PointerKeys(JsonObject smp)
        {
            foreach (var a in (smp["spec"]?["remote"]?["addresses"] as JsonArray)?.Select(x => x.S()) ?? Enumerable.Empty<string?>())
                if (!string.IsNullOrEmpty(a)) yield return "addr:" + a;
            if (smp["spec"]?["security"]?["trustDomain"].S() is { Length: > 0 } td) yield return "td:" + td;
            if (ClientNamespace(smp) is { } ns) yield return "ns:" + ns;
            yield return "name:" + ObservedMesh.NameOf(smp);
        }

        private static string? ClientNamespace(JsonObject smp)
        {
            var parts = smp["spec"]?["security"]?["clientID"].S()?.Split('/');
            return parts is { Length: >= 5 } && parts[1] == "ns" ? parts[2] : null;
        }

        private static int Weight(string key) => key.StartsWith("addr:", StringComparison.Ordinal) ? 4 : key.StartsWith("td:", StringComparison.Ordinal) ? 2 : 1;

        public PeerLink Resolve(ObservedMesh local, JsonObject smp)
        {
            var name = ObservedMesh.NameOf(smp);
            var evidence = new List<MeshEvidence>();
            ObservedMesh? remote = null;
            string why;
            if (_intended is not null && local.Intended is not null
                && _intended.Peerings.FirstOrDefault(p => p.Local == local.Intended && p.Remote.Name == name) is { } peering)
            {
                var key = $"{peering.Remote.ClusterName}|{peering.Remote.Namespace}|{peering.Remote.ControlPlaneName}";
                remote = _byIdentity.GetValueOrDefault(key);
                why = remote is null ? $"the topology's {peering.Remote.Name} ({peering.Remote.ControlPlaneName} in {peering.Remote.Namespace} of {peering.Remote.ClusterName}) was not observed"
                    : $"the topology's peering {peering}";
                evidence.Add(Ev.Declared(peering.Local, $"peering {peering}", "remote", $"{peering.Remote.ControlPlaneName} in {peering.Remote.Namespace} of {peering.Remote.ClusterName}", peering.Source));
            }
            else
            {
                var scores = new Dictionary<ObservedMesh, (int Score, List<string> Why)>();
                foreach (var k in PointerKeys(smp).Distinct(StringComparer.OrdinalIgnoreCase))
                    foreach (var m in _byKey.GetValueOrDefault(k) ?? new List<ObservedMesh>())
                    {
                        if (m == local) continue;
                        var (s, w) = scores.GetValueOrDefault(m, (0, new List<string>()));
                        w.Add(k.Replace(":", " ", StringComparison.Ordinal));
                        scores[m] = (s + Weight(k), w);
                    }
                foreach (var m in scores.Keys.ToList())
                    if (Back(m, local) is not null) scores[m] = (scores[m].Score + 2, scores[m].Why.Append("points back").ToList());
                var ranked = scores.OrderByDescending(kv => kv.Value.Score).ToList();
                if (ranked.Count == 0)
                {
                    var others = _meshes.Where(m => m != local).ToList();
                    if (others.Count == 1 && Back(others[0], local) is not null)
                    {
                        remote = others[0];
                        why = $"{remote} is the only other mesh observed and points back";
                    }
                    else why = $"no observed mesh has its addresses, trust domain, clientID namespace or name ({string.Join(", ", PointerKeys(smp))})";
                }
                else if (ranked.Count > 1 && ranked[0].Value.Score == ranked[1].Value.Score)
                    why = $"it matches {ranked[0].Key} and {ranked[1].Key} equally ({string.Join(", ", ranked[0].Value.Why)})";
                else
                {
                    remote = ranked[0].Key;
                    why = $"matched {remote} by {string.Join(", ", ranked[0].Value.Why)}";
                }
                evidence.Add(new MeshEvidence
                {
                    Cluster = local.Cluster, Object = Ev.Obj("ServiceMeshPeer", local.Namespace, name), Field = "points at",
                    Value = remote is null ? why : $"{remote} ({why})", ObservedAt = local.Observation?.Read(KindRef.Smp).At, Source = local.Observation?.Source,
                });
            }
            return new PeerLink(local, smp, remote, remote is null ? null : Back(remote, local), why, evidence);
        }

        /// <summary>The ServiceMeshPeer of <paramref name="remote"/> that points at <paramref name="local"/> (best match), if any.</summary>
        private JsonObject? Back(ObservedMesh remote, ObservedMesh local)
        {
            if (_intended is not null && remote.Intended is not null && local.Intended is not null)
            {
                var declared = _intended.Peerings.FirstOrDefault(p => p.Local == remote.Intended && p.Remote == local.Intended);
                if (declared is not null) return remote.Peers.FirstOrDefault(p => ObservedMesh.NameOf(p) == declared.Name);
            }
            if (!_pointers.TryGetValue(remote, out var pointers) || !_ownKeys.TryGetValue(local, out var keys)) return null;
            JsonObject? best = null;
            var bestScore = 0;
            var score = new Dictionary<JsonObject, int>(ReferenceEqualityComparer.Instance);
            foreach (var k in keys)
                foreach (var p in pointers.GetValueOrDefault(k) ?? new List<JsonObject>())
                {
                    var s = score[p] = score.GetValueOrDefault(p) + Weight(k);
                    if (s > bestScore) (best, bestScore) = (p, s);
                }
            return best;
        }
    }
}
