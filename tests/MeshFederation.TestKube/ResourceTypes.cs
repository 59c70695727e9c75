namespace MeshFederation.TestKube;

/// <summary>A resource type the test API server serves.</summary>
public sealed record ResourceType(string Group, string[] Versions, string Plural, string Kind, bool Namespaced, string[] ShortNames, bool HasStatus)
{
    public string Singular => Kind.ToLowerInvariant();

    /// <summary>A custom resource (defined by a CRD in shared/crds), not a built-in kind.</summary>
    public bool IsCustom => Group is "maistra.io" or "federation.maistra.io" or "sailoperator.io" or "networking.istio.io" or "security.istio.io"
        or "work.open-cluster-management.io" or "cluster.open-cluster-management.io" or "argoproj.io";

    /// <summary>metadata.generation is kept (custom resources and the built-in kinds whose strategy sets it).</summary>
    public bool HasGeneration => IsCustom || Kind is "Deployment" or "PodDisruptionBudget";
}

/// <summary>The kinds the federation touches: core, apps, rbac, Maistra, Sail, Istio and the Gateway API.</summary>
public static class ResourceTypes
{
    public static readonly IReadOnlyList<ResourceType> All = new ResourceType[]
    {
        new("", new[] { "v1" }, "namespaces", "Namespace", false, new[] { "ns" }, true),
        new("", new[] { "v1" }, "configmaps", "ConfigMap", true, new[] { "cm" }, false),
        new("", new[] { "v1" }, "secrets", "Secret", true, Array.Empty<string>(), false),
        new("", new[] { "v1" }, "services", "Service", true, new[] { "svc" }, true),
        new("", new[] { "v1" }, "serviceaccounts", "ServiceAccount", true, new[] { "sa" }, false),
        new("", new[] { "v1" }, "nodes", "Node", false, new[] { "no" }, true),
        new("", new[] { "v1" }, "pods", "Pod", true, new[] { "po" }, true),
        new("apps", new[] { "v1" }, "deployments", "Deployment", true, new[] { "deploy" }, true),
        new("policy", new[] { "v1" }, "poddisruptionbudgets", "PodDisruptionBudget", true, new[] { "pdb" }, true),
        new("autoscaling", new[] { "v2" }, "horizontalpodautoscalers", "HorizontalPodAutoscaler", true, new[] { "hpa" }, true),
        new("rbac.authorization.k8s.io", new[] { "v1" }, "roles", "Role", true, Array.Empty<string>(), false),
        new("rbac.authorization.k8s.io", new[] { "v1" }, "rolebindings", "RoleBinding", true, Array.Empty<string>(), false),
        new("rbac.authorization.k8s.io", new[] { "v1" }, "clusterroles", "ClusterRole", false, Array.Empty<string>(), false),
        new("rbac.authorization.k8s.io", new[] { "v1" }, "clusterrolebindings", "ClusterRoleBinding", false, Array.Empty<string>(), false),
        new("maistra.io", new[] { "v2", "v1" }, "servicemeshcontrolplanes", "ServiceMeshControlPlane", true, new[] { "smcp" }, true),
        new("maistra.io", new[] { "v1" }, "servicemeshmemberrolls", "ServiceMeshMemberRoll", true, new[] { "smmr" }, true),
        new("maistra.io", new[] { "v1" }, "servicemeshmembers", "ServiceMeshMember", true, new[] { "smm" }, true),
        new("federation.maistra.io", new[] { "v1" }, "servicemeshpeers", "ServiceMeshPeer", true, Array.Empty<string>(), true),
        new("federation.maistra.io", new[] { "v1" }, "exportedservicesets", "ExportedServiceSet", true, Array.Empty<string>(), true),
        new("federation.maistra.io", new[] { "v1" }, "importedservicesets", "ImportedServiceSet", true, Array.Empty<string>(), true),
        new("sailoperator.io", new[] { "v1", "v1alpha1" }, "istios", "Istio", false, Array.Empty<string>(), true),
        new("sailoperator.io", new[] { "v1", "v1alpha1" }, "istiocnis", "IstioCNI", false, Array.Empty<string>(), true),
        new("networking.istio.io", new[] { "v1", "v1beta1", "v1alpha3" }, "virtualservices", "VirtualService", true, new[] { "vs" }, true),
        new("networking.istio.io", new[] { "v1", "v1beta1", "v1alpha3" }, "destinationrules", "DestinationRule", true, new[] { "dr" }, true),
        new("networking.istio.io", new[] { "v1", "v1beta1", "v1alpha3" }, "gateways", "Gateway", true, new[] { "gw" }, true),
        new("networking.istio.io", new[] { "v1", "v1beta1", "v1alpha3" }, "serviceentries", "ServiceEntry", true, new[] { "se" }, true),
        new("networking.istio.io", new[] { "v1", "v1beta1", "v1alpha3" }, "workloadentries", "WorkloadEntry", true, new[] { "we" }, true),
        new("gateway.networking.k8s.io", new[] { "v1", "v1beta1" }, "gateways", "Gateway", true, new[] { "gtw" }, true),
        new("security.istio.io", new[] { "v1", "v1beta1" }, "authorizationpolicies", "AuthorizationPolicy", true, new[] { "ap" }, true),
        new("security.istio.io", new[] { "v1", "v1beta1" }, "peerauthentications", "PeerAuthentication", true, new[] { "pa" }, true),
        // An OCM hub and Argo CD (issue 17): what meshfed render --format ocm|argocd writes is applied to them.
        new("work.open-cluster-management.io", new[] { "v1" }, "manifestworks", "ManifestWork", true, Array.Empty<string>(), true),
        new("cluster.open-cluster-management.io", new[] { "v1beta1" }, "placements", "Placement", true, Array.Empty<string>(), true),
        new("cluster.open-cluster-management.io", new[] { "v1beta2" }, "managedclustersetbindings", "ManagedClusterSetBinding", true, new[] { "mclsetbinding" }, true),
        new("argoproj.io", new[] { "v1alpha1" }, "applicationsets", "ApplicationSet", true, new[] { "appset" }, true),
    };

    public static ResourceType Namespace => All[0];

    public static ResourceType? Find(string group, string version, string plural) =>
        All.FirstOrDefault(r => r.Group == group && r.Plural == plural && r.Versions.Contains(version));

    public static ResourceType? ByKind(string apiVersion, string kind)
    {
        var i = apiVersion.IndexOf('/', StringComparison.Ordinal);
        var (g, v) = i < 0 ? ("", apiVersion) : (apiVersion[..i], apiVersion[(i + 1)..]);
        return All.FirstOrDefault(r => r.Group == g && r.Kind == kind && r.Versions.Contains(v));
    }
}
