using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rendering;

namespace MeshFederation.Engine.Checks;

/// <summary>
/// The Istio styles (multi-primary over the Sail operator, multi-mesh with .global ServiceEntries) checked on what the
/// clusters hold: the control planes are Ready at their current generation, networks and IDs are consistent, every
/// cluster has cacerts under a shared root, remote secrets exist both ways and work, the east-west gateways have
/// addresses and expose the exported hosts, .global ServiceEntries point at the remote gateways' current addresses, and
/// failover rules name Services that exist.
/// </summary>
internal static class IstioObservedChecks
{
    private const string NetworkLabel = "topology.istio.io/network";

    public static bool IsFailoverRule(JsonObject dr) =>
        dr["spec"]?["trafficPolicy"]?["loadBalancer"]?["localityLbSetting"]?["failover"] is JsonArray { Count: > 0 };

    /// <summary>The Service a host names (name, name.ns, name.ns.svc[.domain]); null for wildcards and hosts outside the cluster.</summary>
    public static (string Namespace, string Name)? ServiceOfHost(string? host, string? ruleNamespace)
    {
        if (string.IsNullOrEmpty(host) || host.Contains('*', StringComparison.Ordinal) || host.EndsWith(".global", StringComparison.Ordinal)) return null;
        var parts = host.Split('.');
        if (parts.Length == 1) return ruleNamespace is null ? null : (ruleNamespace, parts[0]);
        if (parts.Length == 2 || parts[2] == "svc") return (parts[1], parts[0]);
        return null;
    }

    private sealed class Context
    {
        public required Observation Observed { get; init; }
        public required FederationSet? Intended { get; init; }
        public required CheckOptions Options { get; init; }
        public required CheckReport Report { get; init; }
        public required Dictionary<ObservedIstio, List<ObservedIstio>> MeshOf { get; init; }
        public required Dictionary<string, List<ObservedIstio>> ByClusterId { get; init; }

        public void Add(CheckInfo check, ObservedIstio cp, string? peer, CheckStatus status, string message, string fix, IEnumerable<MeshEvidence> evidence) =>
            Report.Add(check, cp.Name, peer, cp.Cluster, status, message, fix, evidence);

        /// <summary>Multi-primary: the cluster is one of several of a mesh (by the topology, or by a shared mesh ID).</summary>
        public bool IsMultiPrimary(ObservedIstio cp) =>
            cp.Intended is { } i ? i.Style == MeshStyle.MultiPrimary : MeshOf[cp].Count > 1;
    }

    private static MeshEvidence IstioEv(ObservedIstio cp, string? field, string? value) =>
        Ev.Read(cp.Observation, cp.Observation.Read(KindRef.Istio), Ev.Obj("Istio", null, cp.ResourceName), field, value);

    public static async Task RunAsync(Observation observed, FederationSet? intended, CheckOptions options, CheckReport report, CancellationToken cancellationToken)
    {
        var planes = observed.IstioControlPlanes;
        if (planes.Count == 0 && (intended is null || intended.ControlPlanes.All(c => c.Style == MeshStyle.Ossm2))) return;
        // One mesh per mesh ID: the topology's, else the observed values.global.meshID (Istio defaults it to the trust domain).
        var meshKey = planes.ToDictionary(p => p, p => p.Intended?.MeshId is { Length: > 0 } m ? m : p.MeshId ?? "(default)");
        var groups = planes.GroupBy(p => meshKey[p], StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal);
        var ctx = new Context
        {
            Observed = observed, Intended = intended, Options = options, Report = report,
            MeshOf = planes.ToDictionary(p => p, p => groups[meshKey[p]]),
            ByClusterId = planes.GroupBy(p => p.ClusterId, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.ToList(), StringComparer.Ordinal),
        };
        foreach (var cp in planes)
        {
            Ready(ctx, cp, KindRef.Istio, CheckCatalogue.IstioReady, cp.Istio);
            Cni(ctx, cp);
            Network(ctx, cp);
            MeshIdentity(ctx, cp);
            CaCerts(ctx, cp);
            SharedRoot(ctx, cp);
            EastWestGateway(ctx, cp);
            Exposed(ctx, cp);
            GlobalServiceEntries(ctx, cp);
            Failover(ctx, cp);
        }
        RemoteSecretsBothWays(ctx);
        await RemoteSecretsUsable(ctx, cancellationToken).ConfigureAwait(false);
        IntendedNotObserved(ctx);
    }

    // ------------------------------------------------------------------ control planes

    private static void Ready(Context ctx, ObservedIstio cp, KindRef kind, CheckInfo check, JsonObject obj)
    {
        var c = cp.Observation;
        var read = c.Read(kind);
        var name = Ev.Obj(kind.Kind, null, ClusterObservation.Name(obj));
        var conditions = (obj["status"]?["conditions"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var ready = conditions.FirstOrDefault(x => x["type"].S() == "Ready");
        var generation = obj["metadata"]?["generation"].L();
        var observedGeneration = obj["status"]?["observedGeneration"].L();
        var state = obj["status"]?["state"].S();
        var evidence = new List<MeshEvidence>
        {
            Ev.Read(c, read, name, "status.conditions[Ready]", ready is null ? "(none)" : $"status={Ev.Str(ready["status"])}, reason={Ev.Str(ready["reason"])}{(ready["message"] is null ? "" : ", message=" + Ev.Str(ready["message"]))}"),
            Ev.Read(c, read, name, "metadata.generation / status.observedGeneration", $"{generation?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(not set)"} / {observedGeneration?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "(not set)"}"),
        };
        if (state is not null) evidence.Add(Ev.Read(c, read, name, "status.state", state));
        var isReady = ready?["status"].S() == "True";
        CheckStatus status;
        string message;
        if (!isReady) (status, message) = (CheckStatus.Fail, $"{name} is not Ready: {(ready is null ? "no Ready condition" : $"{Ev.Str(ready["reason"])} {ready["message"].S()}".TrimEnd())}{(state is null ? "" : $" (state {state})")}");
        else if (generation is null || observedGeneration is null) (status, message) = (CheckStatus.Warn, $"{name} is Ready, but the generation it is Ready at is not recorded (metadata.generation / status.observedGeneration)");
        else if (observedGeneration < generation) (status, message) = (CheckStatus.Fail, $"{name} is Ready for generation {observedGeneration}, but the current generation is {generation}: the last change is not reconciled yet");
        else (status, message) = (CheckStatus.Pass, $"{name} is Ready at its current generation {generation}");
        ctx.Add(check, cp, null, status, message, $"look at the {kind.Kind}'s status (kubectl get {kind.Plural} {ClusterObservation.Name(obj)} -o yaml) and the Sail operator's log", evidence);
    }

    private static void Cni(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var read = c.Read(KindRef.IstioCni);
        if (!read.Ok)
        {
            ctx.Add(CheckCatalogue.IstioCniReady, cp, null, CheckStatus.Skip, "the IstioCNI resources could not be read", "give the checks read access to istiocnis (or save them in the snapshot)",
                new[] { Ev.Unreadable(c, read, "IstioCNI") });
            return;
        }
        if (read.Items.Count == 0)
        {
            ctx.Add(CheckCatalogue.IstioCniReady, cp, null, cp.Intended is null ? CheckStatus.Warn : CheckStatus.Fail,
                $"no IstioCNI in {cp.Cluster}: on OpenShift, pods are not redirected into their sidecars without the CNI node agent",
                "create IstioCNI default (Sync-MeshFederation renders it)", new[] { Ev.Read(c, read, "IstioCNI", null, read.Note ?? "none") });
            return;
        }
        foreach (var cni in read.Items) Ready(ctx, cp, KindRef.IstioCni, CheckCatalogue.IstioCniReady, cni);
    }

    private static void Network(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var nsRead = c.ReadOne(KindRef.Namespace, null, cp.Namespace);
        var istioEv = IstioEv(cp, "spec.values.global.network", cp.Network ?? "(not set)");
        if (!nsRead.Ok)
            ctx.Add(CheckCatalogue.NetworkLabel, cp, null, CheckStatus.Skip, $"namespace {cp.Namespace} could not be read", "give the checks read access to namespaces (or save the namespace in the snapshot)",
                new[] { istioEv, Ev.Unreadable(c, nsRead, Ev.Obj("Namespace", null, cp.Namespace)) });
        else
        {
            var ns = nsRead.Items.FirstOrDefault();
            var label = ns?["metadata"]?["labels"]?[NetworkLabel].S();
            var nsEv = Ev.Read(c, nsRead, Ev.Obj("Namespace", null, cp.Namespace), $"metadata.labels[{NetworkLabel}]", ns is null ? "(namespace not found)" : label ?? "(not set)");
            var multi = ctx.IsMultiPrimary(cp);
            var status = ns is null ? CheckStatus.Fail
                : label == cp.Network && (label is not null || !multi) ? CheckStatus.Pass
                : CheckStatus.Fail;
            ctx.Add(CheckCatalogue.NetworkLabel, cp, null, status,
                ns is null ? $"namespace {cp.Namespace} does not exist"
                : status == CheckStatus.Pass ? (label is null ? "neither the namespace nor the Istio resource sets a network (a single-network cluster)" : $"namespace {cp.Namespace} and the Istio resource both say network {label}")
                : label is null && cp.Network is null ? "no network is set: a multi-primary cluster needs one (namespace label and values.global.network)"
                : $"namespace {cp.Namespace} is labelled network {label ?? "(none)"} but the Istio resource says {cp.Network ?? "(none)"}",
                $"kubectl label namespace {cp.Namespace} {NetworkLabel}={cp.Network ?? $"network-{cp.Cluster}"} --overwrite, and set values.global.network to the same",
                new[] { istioEv, nsEv });
        }

        var mesh = ctx.MeshOf[cp];
        if (mesh.Count < 2 && cp.Intended?.Style != MeshStyle.MultiPrimary) return;
        var same = mesh.Where(o => o != cp && o.Network == cp.Network).ToList();
        ctx.Add(CheckCatalogue.NetworkDistinct, cp, null,
            same.Count == 0 && cp.Network is not null ? CheckStatus.Pass : cp.Intended?.Style == MeshStyle.MultiPrimary || cp.Network is null ? CheckStatus.Fail : CheckStatus.Warn,
            cp.Network is null ? $"{cp.Cluster} has no network in a mesh of {mesh.Count} clusters"
            : same.Count == 0 ? $"{cp.Cluster} is alone on network {cp.Network} among the {mesh.Count} clusters of mesh {cp.MeshId}"
            : $"{cp.Cluster} shares network {cp.Network} with {string.Join(", ", same.Select(o => o.Cluster))}: their pods must reach each other directly",
            "give each cluster of a multi-network mesh its own network (values.global.network and the namespace label)",
            mesh.Select(o => IstioEv(o, "spec.values.global.network", o.Network ?? "(not set)")));
    }

    private static void MeshIdentity(Context ctx, ObservedIstio cp)
    {
        var evidence = new List<MeshEvidence> { IstioEv(cp, "spec.values.global.meshID", cp.MeshId ?? "(not set)"), IstioEv(cp, "spec.values.global.multiCluster.clusterName", cp.ClusterName ?? "(not set)") };
        var problems = new List<string>();
        var warnings = new List<string>();
        if (cp.Intended is { } intended && !string.IsNullOrEmpty(intended.MeshId) && cp.MeshId != intended.MeshId)
            problems.Add($"meshID is {cp.MeshId ?? "(not set)"}, the topology says {intended.MeshId}");
        // Clusters this one watches through remote secrets are in its mesh and must share its mesh ID.
        foreach (var key in RemoteSecretKeys(cp))
            foreach (var other in ctx.ByClusterId.GetValueOrDefault(key) ?? new List<ObservedIstio>())
                if (other != cp && other.MeshId != cp.MeshId)
                {
                    problems.Add($"it watches {other.Cluster} through a remote secret, but {other.Cluster}'s meshID is {other.MeshId ?? "(not set)"}");
                    evidence.Add(IstioEv(other, "spec.values.global.meshID", other.MeshId ?? "(not set)"));
                }
        if (cp.Intended?.Style == MeshStyle.MultiMesh && ctx.Observed.IstioControlPlanes.Any(o => o != cp && o.Intended?.Style == MeshStyle.MultiMesh && o.MeshId == cp.MeshId))
            problems.Add($"another federated mesh has the same meshID {cp.MeshId}: independent meshes need their own");
        if (cp.MeshId is null) warnings.Add("meshID is not set (Istio uses the trust domain)");
        ctx.Add(CheckCatalogue.MeshId, cp, null, problems.Count > 0 ? CheckStatus.Fail : warnings.Count > 0 ? CheckStatus.Warn : CheckStatus.Pass,
            problems.Count > 0 ? string.Join("; ", problems) : warnings.Count > 0 ? string.Join("; ", warnings) : $"meshID {cp.MeshId}{(ctx.MeshOf[cp].Count > 1 ? $", shared by {ctx.MeshOf[cp].Count} clusters" : "")}",
            "set values.global.meshID to the same value in every cluster of a multi-primary mesh, and to different values for federated meshes", evidence);

        var clash = ctx.ByClusterId.GetValueOrDefault(cp.ClusterId)?.Where(o => o != cp).ToList() ?? new List<ObservedIstio>();
        var multi = ctx.IsMultiPrimary(cp);
        ctx.Add(CheckCatalogue.ClusterNameUnique, cp, null,
            clash.Count > 0 ? CheckStatus.Fail : cp.ClusterName is null ? (multi ? CheckStatus.Fail : CheckStatus.Warn) : CheckStatus.Pass,
            clash.Count > 0 ? $"clusterName {cp.ClusterId} is also the clusterName of {string.Join(", ", clash.Select(o => o.Cluster))}"
            : cp.ClusterName is null ? "values.global.multiCluster.clusterName is not set (Istio calls the cluster Kubernetes)"
            : $"clusterName {cp.ClusterName} is unique among the {ctx.Observed.IstioControlPlanes.Count} Istio control planes observed",
            $"set values.global.multiCluster.clusterName to a name unique to {cp.Cluster}, and name its remote secrets after it",
            evidence.Take(2).Concat(clash.Select(o => IstioEv(o, "spec.values.global.multiCluster.clusterName", o.ClusterName ?? "(not set)"))));
    }

    // ------------------------------------------------------------------ trust

    private static bool Redacted(string? base64) => string.IsNullOrEmpty(base64) || base64.Contains("REDACTED", StringComparison.OrdinalIgnoreCase) || base64.Trim('*', '<', '>', ' ').Length == 0;

    private static string? Decode(string? base64)
    {
        if (Redacted(base64)) return null;
        try
        {
            return Encoding.UTF8.GetString(Convert.FromBase64String(base64!));
        }
        catch (FormatException)
        {
            return null;
        }
    }

    private static readonly string[] CaKeys = { "ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem" };
    private static readonly string[] TlsKeys = { "tls.crt", "tls.key", "ca.crt" };

    private static void CaCerts(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var read = c.ReadOne(KindRef.Secret, cp.Namespace, "cacerts");
        var obj = Ev.Obj("Secret", cp.Namespace, "cacerts");
        if (!read.Ok)
        {
            ctx.Add(CheckCatalogue.CaCerts, cp, null, CheckStatus.Skip, "Secret cacerts could not be read", "give the checks read access to Secret cacerts (or save it, redacted, in the snapshot)",
                new[] { Ev.Unreadable(c, read, obj) });
            return;
        }
        var secret = read.Items.FirstOrDefault();
        if (secret is null)
        {
            ctx.Add(CheckCatalogue.CaCerts, cp, null, CheckStatus.Fail, $"no Secret cacerts in {cp.Namespace}: istiod signs with a self-made root no other cluster trusts",
                $"create it from the shared root: meshfed ca --cluster {cp.Cluster} (or New-MeshCertificateAuthority) and apply, then restart istiod", new[] { Ev.Read(c, read, obj, null, "not found") });
            return;
        }
        var data = secret["data"] as JsonObject ?? new JsonObject();
        var keys = data.Select(kv => kv.Key).ToList();
        var layout = TlsKeys.All(keys.Contains) ? TlsKeys : CaKeys;
        var missing = layout.Where(k => !keys.Contains(k)).ToList();
        var evidence = new List<MeshEvidence> { Ev.Read(c, read, obj, "data (keys)", keys.Count == 0 ? "(none)" : string.Join(", ", keys.Order(StringComparer.Ordinal))) };
        if (missing.Count > 0)
        {
            ctx.Add(CheckCatalogue.CaCerts, cp, null, CheckStatus.Fail, $"Secret cacerts lacks {string.Join(", ", missing)}", "recreate cacerts with ca-cert.pem, ca-key.pem, root-cert.pem and cert-chain.pem (meshfed ca)", evidence);
            return;
        }
        var rootPem = Decode(data[layout == TlsKeys ? "ca.crt" : "root-cert.pem"].S());
        var caPem = Decode(data[layout == TlsKeys ? "tls.crt" : "ca-cert.pem"].S());
        if (rootPem is null || caPem is null)
        {
            // A redacted snapshot: the structure is what can be judged.
            ctx.Add(CheckCatalogue.CaCerts, cp, null, CheckStatus.Pass, "Secret cacerts has every key (values redacted: judged by structure)", "", evidence);
            return;
        }
        var roots = Ev.Certificates(rootPem);
        var intermediate = Ev.Certificates(caPem).FirstOrDefault();
        evidence.Add(Ev.Read(c, read, obj, "root-cert.pem", Ev.Bundle(roots)));
        if (intermediate is not null) evidence.Add(Ev.Read(c, read, obj, "ca-cert.pem", Ev.Describe(intermediate)));
        var problems = new List<string>();
        if (roots.Count == 0) problems.Add("root-cert.pem holds no certificate");
        if (intermediate is null) problems.Add("ca-cert.pem holds no certificate");
        else if (roots.Count > 0 && !Chains(intermediate, roots)) problems.Add("ca-cert.pem is not signed by a certificate in root-cert.pem");
        var published = Ev.Certificates(c.ReadOne(KindRef.ConfigMap, cp.Namespace, "istio-ca-root-cert").Items.FirstOrDefault()?["data"]?["root-cert.pem"].S());
        var warn = roots.Count > 0 && published.Count > 0 && !roots.Any(published.Contains);
        if (warn) evidence.Add(Ev.Read(c, c.ReadOne(KindRef.ConfigMap, cp.Namespace, "istio-ca-root-cert"), Ev.Obj("ConfigMap", cp.Namespace, "istio-ca-root-cert"), "data.root-cert.pem", Ev.Bundle(published)));
        ctx.Add(CheckCatalogue.CaCerts, cp, null, problems.Count > 0 ? CheckStatus.Fail : warn ? CheckStatus.Warn : CheckStatus.Pass,
            problems.Count > 0 ? string.Join("; ", problems) : warn ? "cacerts holds a root istiod does not publish yet (istio-ca-root-cert differs): restart istiod to take up the new CA"
                : "Secret cacerts holds an intermediate signed by its root",
            "reissue the intermediate under the shared root (meshfed ca --root-cert ... --root-key ...) and restart istiod", evidence);
    }

    private static bool Chains(string intermediateDer, IEnumerable<string> rootDers)
    {
        try
        {
            using var leaf = new X509Certificate2(Convert.FromBase64String(intermediateDer));
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            chain.ChainPolicy.VerificationFlags = X509VerificationFlags.IgnoreNotTimeValid;
            foreach (var r in rootDers) chain.ChainPolicy.CustomTrustStore.Add(new X509Certificate2(Convert.FromBase64String(r)));
            return chain.Build(leaf) || leaf.Issuer == leaf.Subject && rootDers.Contains(intermediateDer);
        }
        catch (CryptographicException)
        {
            return false;
        }
    }

    /// <summary>The clusters this control plane is federated with: remote secrets either way, its mesh, the topology's peerings, .global endpoints.</summary>
    private static List<ObservedIstio> Partners(Context ctx, ObservedIstio cp)
    {
        var partners = new HashSet<ObservedIstio>(ctx.MeshOf[cp].Where(o => o != cp));
        foreach (var key in RemoteSecretKeys(cp))
            foreach (var o in ctx.ByClusterId.GetValueOrDefault(key) ?? new List<ObservedIstio>()) if (o != cp) partners.Add(o);
        if (ctx.Intended is not null && cp.Intended is not null)
            foreach (var p in ctx.Intended.Peerings.Where(p => p.Local == cp.Intended))
                foreach (var o in ctx.Observed.IstioControlPlanes.Where(o => o.Intended == p.Remote)) partners.Add(o);
        return partners.ToList();
    }

    private static void SharedRoot(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var read = c.ReadOne(KindRef.ConfigMap, cp.Namespace, "istio-ca-root-cert");
        var obj = Ev.Obj("ConfigMap", cp.Namespace, "istio-ca-root-cert");
        if (!read.Ok)
        {
            ctx.Add(CheckCatalogue.SharedRoot, cp, null, CheckStatus.Skip, "istio-ca-root-cert could not be read", "give the checks read access to ConfigMaps in the Istio namespace", new[] { Ev.Unreadable(c, read, obj) });
            return;
        }
        var mine = Ev.Certificates(read.Items.FirstOrDefault()?["data"]?["root-cert.pem"].S());
        if (mine.Count == 0)
        {
            ctx.Add(CheckCatalogue.SharedRoot, cp, null, CheckStatus.Fail, $"istiod publishes no root in {cp.Namespace} (ConfigMap istio-ca-root-cert)", "check that istiod runs",
                new[] { Ev.Read(c, read, obj, "data.root-cert.pem", read.Items.Count == 0 ? "not found" : "no certificate") });
            return;
        }
        var evidence = new List<MeshEvidence> { Ev.Read(c, read, obj, "data.root-cert.pem", Ev.Bundle(mine)) };
        var partners = Partners(ctx, cp);
        if (partners.Count == 0)
        {
            ctx.Add(CheckCatalogue.SharedRoot, cp, null, CheckStatus.Skip, "no other cluster of this federation was observed to compare roots with", "include the other clusters (contexts or snapshot folders)", evidence);
            return;
        }
        var apart = new List<string>();
        var unknown = new List<string>();
        foreach (var o in partners)
        {
            var r = o.Observation.ReadOne(KindRef.ConfigMap, o.Namespace, "istio-ca-root-cert");
            var theirs = Ev.Certificates(r.Items.FirstOrDefault()?["data"]?["root-cert.pem"].S());
            if (!r.Ok || theirs.Count == 0) { unknown.Add(o.Cluster); continue; }
            evidence.Add(Ev.Read(o.Observation, r, Ev.Obj("ConfigMap", o.Namespace, "istio-ca-root-cert"), "data.root-cert.pem", Ev.Bundle(theirs)));
            if (!theirs.Any(mine.Contains)) apart.Add(o.Cluster);
        }
        var checkedCount = partners.Count - unknown.Count;
        ctx.Add(CheckCatalogue.SharedRoot, cp, null,
            apart.Count > 0 ? CheckStatus.Fail : checkedCount == 0 ? CheckStatus.Skip : unknown.Count > 0 ? CheckStatus.Warn : CheckStatus.Pass,
            apart.Count > 0 ? $"{cp.Cluster}'s root shares no certificate with {string.Join(", ", apart)}'s"
            : checkedCount == 0 ? $"the roots of {string.Join(", ", unknown)} could not be read"
            : unknown.Count > 0 ? $"shares a root with {checkedCount} cluster(s); the roots of {string.Join(", ", unknown)} could not be read"
            : $"shares a root with {string.Join(", ", partners.Select(p => p.Cluster))}",
            $"issue every cluster's intermediate under one root: meshfed ca --cluster {string.Join(" --cluster ", partners.Select(p => p.Cluster).Prepend(cp.Cluster))} (keep the old root trusted during a rotation: --trust-also)",
            evidence);
    }

    // ------------------------------------------------------------------ remote secrets

    /// <summary>The cluster IDs this control plane's remote secrets name (their data keys).</summary>
    private static IEnumerable<string> RemoteSecretKeys(ObservedIstio cp) =>
        cp.Observation.Read(KindRef.Secret, cp.Namespace, Observation.RemoteSecretSelector).Items
            .SelectMany(s => (s["data"] as JsonObject)?.Select(kv => kv.Key) ?? Enumerable.Empty<string>()).Distinct(StringComparer.Ordinal);

    private static IEnumerable<JsonObject> RemoteSecretsFor(ObservedIstio cp, string clusterId) =>
        cp.Observation.Read(KindRef.Secret, cp.Namespace, Observation.RemoteSecretSelector).Items
            .Where(s => (s["data"] as JsonObject)?.ContainsKey(clusterId) == true);

    private static string SecretText(JsonObject s) =>
        $"labels {Ev.Str(s["metadata"]?["labels"])}, annotation networking.istio.io/cluster={s["metadata"]?["annotations"]?["networking.istio.io/cluster"].S() ?? "(none)"}, data keys {string.Join(", ", (s["data"] as JsonObject)?.Select(kv => kv.Key) ?? Enumerable.Empty<string>())}";

    private static void RemoteSecretsBothWays(Context ctx)
    {
        // Who must watch whom: the topology's multi-primary peerings, else every pair of clusters of one multi-primary mesh.
        var pairs = new List<(ObservedIstio From, ObservedIstio To)>();
        foreach (var cp in ctx.Observed.IstioControlPlanes)
        {
            if (ctx.Intended is not null && cp.Intended is not null)
            {
                if (cp.Intended.Style != MeshStyle.MultiPrimary) continue;
                foreach (var p in ctx.Intended.Peerings.Where(p => p.Local == cp.Intended && p.Remote.Style == MeshStyle.MultiPrimary))
                    foreach (var o in ctx.Observed.IstioControlPlanes.Where(o => o.Intended == p.Remote)) pairs.Add((cp, o));
            }
            else if (ctx.MeshOf[cp].Count > 1)
                foreach (var o in ctx.MeshOf[cp].Where(o => o != cp)) pairs.Add((cp, o));
        }
        foreach (var (from, to) in pairs)
        {
            var c = from.Observation;
            var read = c.Read(KindRef.Secret, from.Namespace, Observation.RemoteSecretSelector);
            var obj = Ev.Obj("Secret", from.Namespace, $"-l {Observation.RemoteSecretSelector}");
            if (!read.Ok)
            {
                ctx.Add(CheckCatalogue.RemoteSecretBothWays, from, to.ClusterId, CheckStatus.Skip, $"the remote secrets of {from.Cluster} could not be read",
                    $"give the checks read access to Secrets labelled {Observation.RemoteSecretSelector} in {from.Namespace} (or save them, redacted, in the snapshot)", new[] { Ev.Unreadable(c, read, obj) });
                continue;
            }
            var found = RemoteSecretsFor(from, to.ClusterId).ToList();
            var evidence = new List<MeshEvidence>
            {
                Ev.Read(c, read, obj, "data keys (remote cluster IDs)", read.Items.Count == 0 ? "none" : string.Join(", ", read.Items.Select(s => $"{ClusterObservation.Name(s)}: {string.Join(", ", (s["data"] as JsonObject)?.Select(kv => kv.Key) ?? Enumerable.Empty<string>())}"))),
                IstioEv(to, "spec.values.global.multiCluster.clusterName", to.ClusterName ?? $"(not set; cluster {to.Cluster})"),
            };
            var back = RemoteSecretsFor(to, from.ClusterId).Any();
            ctx.Add(CheckCatalogue.RemoteSecretBothWays, from, to.ClusterId, found.Count > 0 ? CheckStatus.Pass : CheckStatus.Fail,
                found.Count > 0 ? $"{from.Cluster} holds remote secret {ClusterObservation.Name(found[0])} for {to.ClusterId}{(back ? $", and {to.Cluster} one for {from.ClusterId}" : "")}"
                : $"{from.Cluster} holds no remote secret for {to.ClusterId}: its istiod never sees {to.Cluster}'s endpoints",
                $"istioctl create-remote-secret --context=<{to.Cluster}> --name={to.ClusterId} | kubectl apply -f - --context=<{from.Cluster}> (meshfed apply and Sync-MeshFederation create it)",
                evidence);
        }
        // Secrets for clusters that were not observed cannot be judged both ways.
        foreach (var cp in ctx.Observed.IstioControlPlanes)
            foreach (var key in RemoteSecretKeys(cp).Where(k => !ctx.ByClusterId.ContainsKey(k)))
            {
                var s = RemoteSecretsFor(cp, key).First();
                ctx.Add(CheckCatalogue.RemoteSecretBothWays, cp, key, CheckStatus.Skip, $"{cp.Cluster} holds remote secret {ClusterObservation.Name(s)} for {key}, a cluster that was not observed",
                    $"include cluster {key} in the check, or delete the secret if the cluster is gone",
                    new[] { Ev.Read(cp.Observation, cp.Observation.Read(KindRef.Secret, cp.Namespace, Observation.RemoteSecretSelector), Ev.Obj("Secret", cp.Namespace, ClusterObservation.Name(s)), null, SecretText(s)) });
            }
    }

    private static async Task RemoteSecretsUsable(Context ctx, CancellationToken cancellationToken)
    {
        var work = new List<(ObservedIstio Cp, JsonObject Secret, string Key, string? Kubeconfig)>();
        foreach (var cp in ctx.Observed.IstioControlPlanes)
        {
            var read = cp.Observation.Read(KindRef.Secret, cp.Namespace, Observation.RemoteSecretSelector);
            foreach (var s in read.Items)
                foreach (var (key, value) in (s["data"] as JsonObject) ?? new JsonObject())
                    work.Add((cp, s, key, Decode(value.S())));
        }
        // One connection per distinct kubeconfig: the secrets of N clusters for one remote usually hold the same server and token.
        var probes = new Dictionary<string, Task<RemoteAccessOutcome>>(StringComparer.Ordinal);
        var yaml = ctx.Options.Yaml;
        foreach (var w in work.Where(w => w.Cp.Observation.IsLive && w.Kubeconfig is not null && yaml is not null))
        {
            var hash = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(w.Kubeconfig!)));
            if (!probes.ContainsKey(hash))
                probes[hash] = RemoteAccess.TryAsync(w.Kubeconfig!, $"Secret {w.Cp.Namespace}/{ClusterObservation.Name(w.Secret)} in {w.Cp.Cluster}", yaml!, ctx.Options.RemoteTimeout, cancellationToken);
        }
        await Task.WhenAll(probes.Values).ConfigureAwait(false);

        foreach (var (cp, secret, key, kubeconfig) in work)
        {
            var c = cp.Observation;
            var read = c.Read(KindRef.Secret, cp.Namespace, Observation.RemoteSecretSelector);
            var name = ClusterObservation.Name(secret);
            var obj = Ev.Obj("Secret", cp.Namespace, name);
            var evidence = new List<MeshEvidence> { Ev.Read(c, read, obj, null, SecretText(secret)) };
            var structure = new List<string>();
            var annotation = secret["metadata"]?["annotations"]?["networking.istio.io/cluster"].S();
            if (annotation is not null && annotation != key) structure.Add($"its annotation networking.istio.io/cluster says {annotation} but its data key (the cluster ID istiod uses) is {key}");
            if ((secret["data"] as JsonObject)?.Count > 1) structure.Add("it holds several kubeconfigs; istiod takes each data key as a cluster");
            if (ctx.ByClusterId.ContainsKey(key) is false && ctx.Observed.IstioControlPlanes.Any(o => o.Cluster == key && o.ClusterName is not null && o.ClusterName != key))
                structure.Add($"cluster {key}'s clusterName is {ctx.Observed.IstioControlPlanes.First(o => o.Cluster == key).ClusterName}: the data key must be that");
            if (structure.Count > 0)
            {
                ctx.Add(CheckCatalogue.RemoteSecretUsable, cp, key, CheckStatus.Fail, string.Join("; ", structure), "recreate it with istioctl create-remote-secret --name=<the remote clusterName>", evidence);
                continue;
            }
            if (kubeconfig is not null && c.IsLive && yaml is not null)
            {
                var outcome = await probes[Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(kubeconfig)))].ConfigureAwait(false);
                var probeEv = new MeshEvidence
                {
                    Cluster = c.Cluster, Object = $"{obj} data.{key} (kubeconfig)", Field = "connect and SelfSubjectAccessReview (list)",
                    Value = $"server {outcome.Server}; identity {outcome.Identity ?? "(not a JWT)"}{(outcome.Expires is { } e ? $", expires {Ev.Time(e)}" : "")}; "
                        + (outcome.Failure ?? string.Join(", ", outcome.Permissions.Select(p => $"{p.Resource}: {(p.Allowed ? "allowed" : "denied" + (p.Reason is null ? "" : $" ({p.Reason})"))}"))),
                    ObservedAt = outcome.At, Source = "from here",
                };
                evidence.Add(probeEv);
                var denied = outcome.Permissions.Where(p => !p.Allowed).Select(p => p.Resource).ToList();
                if (outcome.Refused)
                {
                    ctx.Add(CheckCatalogue.RemoteSecretUsable, cp, key, CheckStatus.Skip, $"not tried from here: {outcome.Failure}",
                        $"judge it by istiod's own report: istioctl remote-clusters --context=<{cp.Cluster}>", evidence);
                    continue;
                }
                // The credential's expiry: a token's exp claim (decoded, the token itself never shown), or a client
                // certificate's validity. Not observed (an opaque token): said, as a Warn, never inside a Pass.
                var usableStatus = CheckStatus.Pass;
                var expiry = "";
                var unobserved = false;
                if (outcome.Usable)
                {
                    var now = ctx.Options.Now ?? DateTimeOffset.UtcNow;
                    var its = $"its {outcome.Credential}";
                    if (outcome.Expires is { } exp)
                    {
                        var (threshold, why) = RemoteAccess.ExpiryWarning(outcome.Issued, exp);
                        evidence.Add(new MeshEvidence { Cluster = c.Cluster, Object = $"{obj} data.{key} (kubeconfig)", Field = outcome.Credential == "token" ? "token exp claim" : "client certificate notAfter", Value = $"{Ev.Time(exp)}; warning threshold {RemoteAccess.Duration(threshold)} ({why})", ObservedAt = outcome.At, Source = outcome.Credential == "token" ? "decoded from the token" : "read from the certificate" });
                        if (exp <= now) (usableStatus, expiry) = (CheckStatus.Fail, $", but {its} expired at {Ev.Time(exp)}");
                        else if (exp - now <= threshold) (usableStatus, expiry) = (CheckStatus.Warn, $", but {its} expires at {Ev.Time(exp)}, in {RemoteAccess.Duration(exp - now)}: within the warning threshold of {RemoteAccess.Duration(threshold)} ({why})");
                        else expiry = $"; {its} expires at {Ev.Time(exp)}, in {RemoteAccess.Duration(exp - now)} (warning threshold {RemoteAccess.Duration(threshold)}: {why})";
                    }
                    else if (outcome.Jwt) expiry = "; its token does not expire (a long-lived token Secret's: revoked by deleting that Secret)";
                    else
                    {
                        (usableStatus, unobserved) = (CheckStatus.Warn, true);
                        expiry = outcome.Credential == "token"
                            ? "; but when its token expires is not observed: it is not a JWT (an opaque token), so this check cannot warn before it stops working"
                            : $"; but when {its} expires is not observed (it authenticates with neither a token nor a client certificate)";
                    }
                }
                ctx.Add(CheckCatalogue.RemoteSecretUsable, cp, key, outcome.Usable ? usableStatus : CheckStatus.Fail,
                    outcome.Usable ? $"connected to {outcome.Server} as {outcome.Identity ?? "the secret's user"}, which may list services, endpoints and pods{expiry}"
                    : outcome.Failure is not null ? $"cannot use it against {outcome.Server}: {outcome.Failure}"
                    : $"{outcome.Identity ?? "the secret's user"} may not list {string.Join(", ", denied)} on {outcome.Server}",
                    unobserved
                        ? $"find out where that credential is issued and when it ends, or replace it with a service-account token whose expiry can be judged: meshfed remote-secret rotate --cluster <{key}> --take-over (Update-MeshRemoteSecret -TakeOver)"
                    : usableStatus != CheckStatus.Pass && outcome.Usable
                        ? $"rotate the reader token before it expires: meshfed remote-secret rotate --cluster <{key}> --bound-token --token-expiry <lifetime> (Update-MeshRemoteSecret), or drop --bound-token for a long-lived token Secret"
                    : outcome.Failure is not null && outcome.Failure.Contains("unreachable", StringComparison.Ordinal)
                        ? $"check the server address in the secret (istioctl create-remote-secret --server); istiod in {cp.Cluster} must reach it, and so must this check"
                        : $"recreate the secret (istioctl create-remote-secret --name={key}, or meshfed apply) with a current reader token and the remote API server's CA, and bind the reader to a role that may list services, endpoints and pods",
                    evidence);
                continue;
            }
            // A snapshot: istiod's own report, when istioctl remote-clusters was saved with it.
            var rows = c.RemoteClusters;
            var row = rows?.FirstOrDefault(r => r.Cluster == key);
            if (row is not null)
            {
                evidence.Add(new MeshEvidence { Cluster = c.Cluster, Object = "istioctl remote-clusters", Field = key, Value = $"secret {row.Secret ?? "-"}, status {row.Status}, istiod {row.Istiod ?? "-"}", ObservedAt = read.At, Source = row.File });
                ctx.Add(CheckCatalogue.RemoteSecretUsable, cp, key, row.Status == "synced" ? CheckStatus.Pass : CheckStatus.Fail,
                    row.Status == "synced" ? $"istiod reports {key} synced (istioctl remote-clusters)" : $"istiod reports {key} as {row.Status} (istioctl remote-clusters): it cannot reach or read that cluster",
                    "look at istiod's log for the remote cluster; check the secret's server, CA and token", evidence);
            }
            else if (rows is not null)
                ctx.Add(CheckCatalogue.RemoteSecretUsable, cp, key, CheckStatus.Fail, $"istiod does not list {key} (istioctl remote-clusters): the secret was not taken up",
                    "check the secret's label istio/multiCluster=true and istiod's log", evidence.Append(new MeshEvidence { Cluster = c.Cluster, Object = "istioctl remote-clusters", Value = string.Join(", ", rows.Select(r => $"{r.Cluster} {r.Status}")), ObservedAt = read.At, Source = rows.FirstOrDefault()?.File }));
            else
                ctx.Add(CheckCatalogue.RemoteSecretUsable, cp, key, CheckStatus.Skip,
                    kubeconfig is null ? "its value is redacted; whether it works is known only live, or from istioctl remote-clusters saved with the snapshot"
                    : c.IsLive ? "its kubeconfig could not be parsed here (no YAML parser given)" : "a snapshot cannot connect; save istioctl remote-clusters output with it to judge the secret",
                    $"run the check live, or save 'istioctl remote-clusters --context=<{cp.Cluster}>' output into the cluster's snapshot folder", evidence);
        }
    }

    // ------------------------------------------------------------------ gateways and routes

    /// <summary>The east-west gateway Service: istio-eastwestgateway, else any Service labelled istio=eastwestgateway.</summary>
    private static (ReadResult Read, JsonObject? Service) EastWest(ObservedIstio cp)
    {
        var read = cp.Observation.Read(KindRef.Service, cp.Namespace);
        var svc = read.Items.FirstOrDefault(s => ClusterObservation.Name(s) == MeshControlPlane.EastWestGatewayName)
            ?? read.Items.FirstOrDefault(s => s["metadata"]?["labels"]?["istio"].S() == "eastwestgateway");
        return (read, svc);
    }

    /// <summary>Where other clusters reach the east-west gateway on 15443: LoadBalancer addresses, else node addresses on the tls node port.</summary>
    internal static List<(string Address, int Port)> GatewayAddresses(ObservedIstio cp, out List<MeshEvidence> evidence)
    {
        evidence = new List<MeshEvidence>();
        var (read, svc) = EastWest(cp);
        var c = cp.Observation;
        var result = new List<(string, int)>();
        if (!read.Ok) { evidence.Add(Ev.Unreadable(c, read, Ev.Obj("Service", cp.Namespace, MeshControlPlane.EastWestGatewayName))); return result; }
        if (svc is null) { evidence.Add(Ev.Read(c, read, Ev.Obj("Service", cp.Namespace, MeshControlPlane.EastWestGatewayName), null, "not found")); return result; }
        var obj = Ev.Obj("Service", cp.Namespace, ClusterObservation.Name(svc));
        var ports = (svc["spec"]?["ports"] as JsonArray)?.OfType<JsonObject>().ToList() ?? new List<JsonObject>();
        var tls = ports.FirstOrDefault(p => p["port"].I() == IstioRenderer.CrossNetworkPort) ?? ports.FirstOrDefault(p => p["name"].S() == "tls");
        var lb = (svc["status"]?["loadBalancer"]?["ingress"] as JsonArray)?.OfType<JsonObject>().Select(i => (i["ip"] ?? i["hostname"]).S()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).ToList() ?? new List<string>();
        evidence.Add(Ev.Read(c, read, obj, "spec.type, port 15443, status.loadBalancer.ingress",
            $"{svc["spec"]?["type"].S() ?? "ClusterIP"}; tls {(tls is null ? "(none)" : $"{Ev.Str(tls["port"])}{(tls["nodePort"] is null ? "" : "/node " + Ev.Str(tls["nodePort"]))}")}; address {(lb.Count == 0 ? "(none)" : string.Join(", ", lb))}"));
        if (tls?["port"].I() is { } port) foreach (var a in lb) result.Add((a, port));
        if (lb.Count == 0 && svc["spec"]?["type"].S() == "NodePort" && tls?["nodePort"].I() is { } np)
        {
            var nodes = c.Read(KindRef.Node);
            foreach (var a in ObservedChecksNodeAddresses(nodes.Items)) result.Add((a, np));
            evidence.Add(nodes.Ok ? Ev.Read(c, nodes, "Nodes", "status.addresses", string.Join(", ", ObservedChecksNodeAddresses(nodes.Items))) : Ev.Unreadable(c, nodes, "Nodes"));
        }
        return result;
    }

    private static List<string> ObservedChecksNodeAddresses(IEnumerable<JsonObject> nodes) =>
        nodes.SelectMany(n => (n["status"]?["addresses"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
            .Where(a => a["type"].S() is "InternalIP" or "ExternalIP").Select(a => a["address"].S()).Where(a => !string.IsNullOrEmpty(a)).Select(a => a!).Distinct(StringComparer.Ordinal).ToList();

    private static void EastWestGateway(Context ctx, ObservedIstio cp)
    {
        var needed = ctx.IsMultiPrimary(cp) || cp.Intended is not null;
        var (read, svc) = EastWest(cp);
        var addresses = GatewayAddresses(cp, out var evidence);
        if (!read.Ok)
        {
            ctx.Add(CheckCatalogue.EastWestGateway, cp, null, CheckStatus.Skip, $"the Services of {cp.Namespace} could not be read", "give the checks read access to Services in the Istio namespace", evidence);
            return;
        }
        if (svc is null)
        {
            ctx.Add(CheckCatalogue.EastWestGateway, cp, null, needed ? CheckStatus.Fail : CheckStatus.Skip,
                needed ? $"no east-west gateway in {cp.Namespace}: other networks cannot reach {cp.Cluster}" : $"no east-west gateway in {cp.Namespace} (a single-network cluster needs none)",
                "create the east-west gateway (samples/multicluster/gen-eastwest-gateway.sh; Sync-MeshFederation renders it)", evidence);
            return;
        }
        ctx.Add(CheckCatalogue.EastWestGateway, cp, null, addresses.Count > 0 ? CheckStatus.Pass : CheckStatus.Fail,
            addresses.Count > 0 ? $"the east-west gateway is reached at {string.Join(", ", addresses.Select(a => $"{a.Address}:{a.Port}"))}" : "the east-west gateway has no address (LoadBalancer pending, or no node port on 15443)",
            "check the cloud or MetalLB load balancer for the east-west gateway Service", evidence);
    }

    private static bool HostCovered(string host, IEnumerable<string> patterns) =>
        patterns.Any(p => p == host || p == "*" || (p.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(p[1..], StringComparison.Ordinal)));

    private static void Exposed(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var read = c.Read(KindRef.Gateway, cp.Namespace);
        var obj = Ev.Obj("Gateway", cp.Namespace, "*");
        var expected = ctx.Intended is not null && cp.Intended is not null ? IstioRenderer.ExposedHosts(ctx.Intended, cp.Intended).ToList() : new List<string>();
        if (!read.Ok)
        {
            ctx.Add(CheckCatalogue.ExportExposed, cp, null, CheckStatus.Skip, "the Gateways could not be read", "give the checks read access to gateways.networking.istio.io", new[] { Ev.Unreadable(c, read, obj) });
            return;
        }
        var passthrough = read.Items.Where(g => g["spec"]?["selector"]?["istio"].S() == "eastwestgateway").SelectMany(g =>
                ((g["spec"]?["servers"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                .Where(s => s["port"]?["number"].I() == IstioRenderer.CrossNetworkPort && s["tls"]?["mode"].S() == "AUTO_PASSTHROUGH")
                .Select(s => (Gateway: ClusterObservation.Name(g), Hosts: (s["hosts"] as JsonArray)?.Select(h => h.S() ?? "").ToList() ?? new List<string>())))
            .ToList();
        var hosts = passthrough.SelectMany(p => p.Hosts).Distinct(StringComparer.Ordinal).ToList();
        var evidence = new[] { Ev.Read(c, read, obj, "AUTO_PASSTHROUGH servers on 15443 (selector istio=eastwestgateway)",
            passthrough.Count == 0 ? "none" : string.Join("; ", passthrough.Select(p => $"{p.Gateway}: {string.Join(", ", p.Hosts)}"))) };
        if (expected.Count == 0)
        {
            ctx.Add(CheckCatalogue.ExportExposed, cp, null, passthrough.Count > 0 ? CheckStatus.Pass : CheckStatus.Skip,
                passthrough.Count > 0 ? $"{cp.Cluster} exposes {string.Join(", ", hosts)} to other networks" : $"{cp.Cluster} exposes nothing to other networks (no cross-network Gateway)",
                "apply the cross-network Gateway (samples/multicluster/expose-services.yaml) for what should be reachable", evidence);
            return;
        }
        var missing = expected.Where(h => !HostCovered(h, hosts)).ToList();
        ctx.Add(CheckCatalogue.ExportExposed, cp, null, missing.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
            missing.Count == 0 ? $"the cross-network Gateway exposes every exported host ({string.Join(", ", expected)})" : $"not exposed to other networks: {string.Join(", ", missing)}",
            $"list the exported hosts in Gateway {IstioRenderer.CrossNetworkGateway} (Sync-MeshFederation renders it)", evidence);
    }

    private static void GlobalServiceEntries(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var read = c.Read(KindRef.ServiceEntry);
        if (!read.Ok) return; // reported through the intended imports below when a topology expects them
        var entries = read.Items.Where(se => (se["spec"]?["hosts"] as JsonArray)?.Any(h => h.S()?.EndsWith(".global", StringComparison.Ordinal) == true) == true).ToList();
        var vips = entries.SelectMany(se => ((se["spec"]?["addresses"] as JsonArray)?.Select(a => a.S()).Where(a => a is not null) ?? Enumerable.Empty<string?>()).Select(a => (Vip: a!, Se: se)))
            .GroupBy(x => x.Vip, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Select(x => x.Se).ToList(), StringComparer.Ordinal);
        var gateways = ctx.Observed.IstioControlPlanes.Where(o => o != cp).Select(o => (Cp: o, Addresses: GatewayAddresses(o, out var ev), Evidence: ev)).ToList();
        foreach (var se in entries)
        {
            var ns = ClusterObservation.Namespace(se);
            var obj = Ev.Obj("ServiceEntry", ns, ClusterObservation.Name(se));
            var hosts = (se["spec"]?["hosts"] as JsonArray)?.Select(h => h.S()).Where(h => h is not null).Select(h => h!).ToList() ?? new List<string>();
            var endpoints = (se["spec"]?["endpoints"] as JsonArray)?.OfType<JsonObject>().Select(e => (Address: e["address"].S() ?? "", Ports: (e["ports"] as JsonObject)?.Select(kv => (kv.Key, Port: kv.Value.I())).ToList() ?? new List<(string, int?)>())).ToList()
                ?? new List<(string, List<(string, int?)>)>();
            var evidence = new List<MeshEvidence>
            {
                Ev.Read(c, read, obj, "spec.endpoints", endpoints.Count == 0 ? "(none)" : string.Join("; ", endpoints.Select(e => $"{e.Address} {string.Join(", ", e.Ports.Select(p => $"{p.Item1}:{p.Port}"))}"))),
            };
            // The remote it should reach: the topology's import, else the mesh whose gateway has the endpoint's address.
            var host = hosts.First(h => h.EndsWith(".global", StringComparison.Ordinal));
            var import = ctx.Intended?.Imports.FirstOrDefault(i => i.ControlPlane == cp.Intended && i.LocalHost == host);
            var remote = import is not null
                ? gateways.FirstOrDefault(g => g.Cp.Intended?.Name == import.Peer)
                : gateways.FirstOrDefault(g => g.Addresses.Any(a => endpoints.Any(e => e.Address == a.Address)));
            if (remote.Cp is not null) evidence.AddRange(remote.Evidence);
            CheckStatus status;
            string message;
            if (endpoints.Count == 0) (status, message) = (CheckStatus.Fail, $"{host} has no endpoints: it resolves to nothing");
            else if (remote.Cp is null)
                (status, message) = import is not null
                    ? (CheckStatus.Skip, $"{host} should reach {import.Peer}, which was not observed")
                    : (CheckStatus.Fail, $"{host} points at {string.Join(", ", endpoints.Select(e => e.Address))}, the gateway of no observed mesh ({string.Join("; ", gateways.Select(g => $"{g.Cp.Cluster}: {string.Join(", ", g.Addresses.Select(a => a.Address))}"))})");
            else if (remote.Addresses.Count == 0) (status, message) = (CheckStatus.Skip, $"{remote.Cp.Cluster}'s gateway has no address to compare with");
            else
            {
                var wrongAddress = endpoints.Where(e => !remote.Addresses.Any(a => a.Address == e.Address)).Select(e => e.Address).ToList();
                var wrongPort = endpoints.Where(e => e.Ports.Count == 0 || e.Ports.Any(p => !remote.Addresses.Any(a => a.Port == p.Port))).Select(e => $"{e.Address} ({string.Join(", ", e.Ports.Select(p => $"{p.Item1}:{p.Port}"))})").ToList();
                (status, message) = wrongAddress.Count == 0 && wrongPort.Count == 0
                    ? (CheckStatus.Pass, $"{host} reaches {remote.Cp.Cluster}'s gateway at {string.Join(", ", remote.Addresses.Select(a => $"{a.Address}:{a.Port}"))}")
                    : (CheckStatus.Fail, $"{host} points at {string.Join(", ", endpoints.Select(e => e.Address))}{(wrongPort.Count > 0 ? $" on ports {string.Join("; ", wrongPort)}" : "")}, but {remote.Cp.Cluster}'s gateway is at {string.Join(", ", remote.Addresses.Select(a => $"{a.Address}:{a.Port}"))}");
            }
            ctx.Add(CheckCatalogue.GlobalServiceEntry, cp, import?.Peer ?? remote.Cp?.Name, status, message,
                "set the ServiceEntry's endpoints to the remote gateway's current address with every port on 15443 (Sync-MeshFederation reads it from the remote cluster)", evidence);

            var addresses = (se["spec"]?["addresses"] as JsonArray)?.Select(a => a.S()).Where(a => a is not null).Select(a => a!).ToList() ?? new List<string>();
            var shared = addresses.SelectMany(a => vips[a].Where(o => o != se).Select(o => $"{a} ({Ev.Obj("ServiceEntry", ClusterObservation.Namespace(o), ClusterObservation.Name(o))})")).ToList();
            ctx.Add(CheckCatalogue.VipUnique, cp, import?.Peer ?? remote.Cp?.Name, addresses.Count == 0 || shared.Count > 0 ? CheckStatus.Fail : CheckStatus.Pass,
                addresses.Count == 0 ? $"{host} has no address (VIP): sidecars cannot capture its traffic" : shared.Count > 0 ? $"{host}'s address is shared: {string.Join(", ", shared)}" : $"{host} has its own address {string.Join(", ", addresses)}",
                "give every .global ServiceEntry its own address from an unused range (vipRange)", new[] { Ev.Read(c, read, obj, "spec.addresses", addresses.Count == 0 ? "(none)" : string.Join(", ", addresses)) });
        }
        // The topology's imports whose ServiceEntry is missing.
        if (ctx.Intended is null || cp.Intended?.Style != MeshStyle.MultiMesh) return;
        foreach (var i in ctx.Intended.Imports.Where(i => i.ControlPlane == cp.Intended && i.LocalHost is not null && !entries.Any(se => (se["spec"]?["hosts"] as JsonArray)?.Any(h => h.S() == i.LocalHost) == true)))
            ctx.Add(CheckCatalogue.GlobalServiceEntry, cp, i.Peer, CheckStatus.Fail, $"no ServiceEntry for {i.LocalHost} in {cp.Cluster}", "apply the federation (meshfed apply, Sync-MeshFederation)",
                new[] { Ev.Read(c, read, Ev.Obj("ServiceEntry", i.ServiceEntryNamespace, i.ServiceEntryName), null, "not found") });
    }

    private static void Failover(Context ctx, ObservedIstio cp)
    {
        var c = cp.Observation;
        var read = c.Read(KindRef.DestinationRule);
        if (!read.Ok)
        {
            if (ctx.Intended?.FailoverPolicies.Any(f => f.ControlPlane == cp.Intended) == true)
                ctx.Add(CheckCatalogue.FailoverHost, cp, null, CheckStatus.Skip, "the DestinationRules could not be read", "give the checks read access to destinationrules", new[] { Ev.Unreadable(c, read, "DestinationRules") });
            return;
        }
        foreach (var dr in read.Items.Where(IsFailoverRule))
        {
            var ns = ClusterObservation.Namespace(dr);
            var obj = Ev.Obj("DestinationRule", ns, ClusterObservation.Name(dr));
            var host = dr["spec"]?["host"].S();
            var lb = dr["spec"]?["trafficPolicy"]?["loadBalancer"]?["localityLbSetting"];
            var evidence = new List<MeshEvidence>
            {
                Ev.Read(c, read, obj, "spec.host", host ?? "(not set)"),
                Ev.Read(c, read, obj, "spec.trafficPolicy.loadBalancer.localityLbSetting.failover", Ev.Str(lb?["failover"])),
                Ev.Read(c, read, obj, "spec.trafficPolicy.outlierDetection", Ev.Str(dr["spec"]?["trafficPolicy"]?["outlierDetection"])),
            };
            var problems = new List<string>();
            var svc = ServiceOfHost(host, ns);
            if (svc is null) problems.Add($"host {host ?? "(not set)"} names no Service of this cluster");
            else
            {
                var got = c.ReadOne(KindRef.Service, svc.Value.Namespace, svc.Value.Name);
                evidence.Add(got.Ok ? Ev.Read(c, got, Ev.Obj("Service", svc.Value.Namespace, svc.Value.Name), null, got.Items.Count == 0 ? "not found" : "exists") : Ev.Unreadable(c, got, Ev.Obj("Service", svc.Value.Namespace, svc.Value.Name)));
                if (!got.Ok)
                {
                    ctx.Add(CheckCatalogue.FailoverHost, cp, null, CheckStatus.Skip, $"Service {svc.Value.Namespace}/{svc.Value.Name} could not be read", "give the checks read access to Services", evidence);
                    continue;
                }
                if (got.Items.Count == 0) problems.Add($"host {host} names Service {svc.Value.Namespace}/{svc.Value.Name}, which does not exist in {cp.Cluster}");
            }
            if (dr["spec"]?["trafficPolicy"]?["outlierDetection"] is null) problems.Add("it has no outlierDetection, which locality failover needs");
            if (lb?["enabled"].B() == false) problems.Add("localityLbSetting is disabled");
            foreach (var f in (lb?["failover"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>())
                if (f["from"].S() is { } from && from == f["to"].S()) problems.Add($"it fails over from {from} to itself");
            ctx.Add(CheckCatalogue.FailoverHost, cp, null, problems.Count == 0 ? CheckStatus.Pass : CheckStatus.Fail,
                problems.Count == 0 ? $"{obj} fails {host} over {Ev.Str(lb?["failover"])} with outlier detection" : string.Join("; ", problems),
                "point the rule's host at an existing Service (name.namespace.svc.cluster.local) and give it outlierDetection (New-MeshFailoverPolicy renders both)", evidence);
        }
    }

    private static void IntendedNotObserved(Context ctx)
    {
        if (ctx.Intended is null) return;
        foreach (var cp in ctx.Intended.ControlPlanes.Where(c => c.Style is MeshStyle.MultiPrimary or MeshStyle.MultiMesh && !ctx.Observed.IstioControlPlanes.Any(o => o.Intended == c)))
        {
            var c = ctx.Observed.Clusters.FirstOrDefault(x => x.Cluster == cp.ClusterName);
            var obj = Ev.Obj("Istio", null, cp.ControlPlaneName);
            if (c is null)
            {
                ctx.Report.Add(CheckCatalogue.IstioReady, cp.Name, null, cp.ClusterName, CheckStatus.Skip, $"cluster {cp.ClusterName} was not read",
                    $"include cluster {cp.ClusterName} (its context, or its snapshot folder)", new[] { Ev.Declared(cp, obj, null, null) });
                continue;
            }
            var read = c.Read(KindRef.Istio);
            ctx.Report.Add(CheckCatalogue.IstioReady, cp.Name, null, cp.ClusterName, read.Ok ? CheckStatus.Fail : CheckStatus.Skip,
                read.Ok ? $"no Istio control plane for {cp.Namespace} in cluster {cp.ClusterName}{(read.Note is null ? "" : $" ({read.Note})")}" : $"the Istio resources of {cp.ClusterName} could not be read",
                read.Ok ? "install the Sail operator and apply the federation (meshfed apply, Sync-MeshFederation)" : "give the checks read access to istios.sailoperator.io",
                new[] { read.Ok ? Ev.Read(c, read, obj, null, "not found") : Ev.Unreadable(c, read, "Istio") });
        }
    }
}
