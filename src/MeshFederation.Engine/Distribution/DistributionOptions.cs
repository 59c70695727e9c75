using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Distribution;

/// <summary>How a render is laid out on disk.</summary>
public enum DistributionFormat
{
    /// <summary>One multi-document &lt;cluster&gt;.yaml per cluster (kubectl apply --server-side -f).</summary>
    Files,

    /// <summary>clusters/&lt;cluster&gt;/ with one file per object and a kustomization.yaml that keeps the apply order (sortOptions fifo).</summary>
    Kustomize,

    /// <summary>The kustomize tree with Argo CD sync waves, plus an ApplicationSet that points at clusters/{{name}}.</summary>
    ArgoCD,

    /// <summary>One ManifestWork per managed cluster (Open Cluster Management), split below the size limit.</summary>
    Ocm,
}

/// <summary>Parameters of the distribution formats.</summary>
public sealed record DistributionOptions
{
    /// <summary>Argo CD: the Git repository holding the tree (required for argocd).</summary>
    public string? RepoUrl { get; init; }

    /// <summary>Argo CD: the revision to sync (branch, tag or commit).</summary>
    public string Revision { get; init; } = "HEAD";

    /// <summary>Argo CD: where the tree sits inside the repository ("" = its root).</summary>
    public string RepoPath { get; init; } = "";

    /// <summary>Argo CD: the ApplicationSet's namespace (where Argo CD runs).</summary>
    public string ArgoNamespace { get; init; } = "argocd";

    /// <summary>Argo CD: the AppProject of the generated Applications.</summary>
    public string ArgoProject { get; init; } = "default";

    /// <summary>Argo CD: use a cluster generator selecting Argo CD clusters by these labels instead of a list generator of the topology's clusters.</summary>
    public IReadOnlyDictionary<string, string>? ClusterSelector { get; init; }

    /// <summary>OCM: write a Placement and a ManagedClusterSetBinding for this ManagedClusterSet.</summary>
    public string? ClusterSet { get; init; }

    /// <summary>OCM: the hub namespace of the Placement and the ManagedClusterSetBinding.</summary>
    public string PlacementNamespace { get; init; } = "meshfederation";

    /// <summary>OCM: a ManifestWork is split before its serialized size passes this many bytes (OCM refuses works above 512,000 bytes).</summary>
    public int MaxWorkBytes { get; init; } = 400 * 1024;

    /// <summary>OCM: the server-side-apply field manager of the work agent (must start with work-agent).</summary>
    public string FieldManager { get; init; } = "work-agent-meshfederation";

    /// <summary>Checks the options before anything is rendered.</summary>
    public void Validate(DistributionFormat format, Func<string, string> field)
    {
        var problems = new ProblemList();
        if (format == DistributionFormat.ArgoCD)
        {
            if (string.IsNullOrWhiteSpace(RepoUrl))
                problems.Add(MeshErrorKind.InvalidArgument, field("RepoUrl"), RepoUrl, "is required for the argocd format",
                    "give the URL of the Git repository the tree is committed to (e.g. https://git.example.com/platform/mesh.git)");
            else if (RepoUrl.Any(char.IsWhiteSpace))
                problems.Add(MeshErrorKind.InvalidArgument, field("RepoUrl"), RepoUrl, "contains white space", "give the repository URL as Argo CD knows it");
            if (string.IsNullOrWhiteSpace(Revision) || Revision.Any(char.IsWhiteSpace))
                problems.Add(MeshErrorKind.InvalidArgument, field("Revision"), Revision, "is not a Git revision", "give a branch, tag or commit (default HEAD)");
            if (RepoPath.Split('/').Any(p => p == "..") || RepoPath.StartsWith('/'))
                problems.Add(MeshErrorKind.InvalidArgument, field("RepoPath"), RepoPath, "must be a relative path inside the repository", "give the folder the tree is committed to, e.g. gitops/mesh");
            if (!Names.IsDns1123Label(ArgoNamespace))
                problems.Add(MeshErrorKind.InvalidArgument, field("ArgoNamespace"), ArgoNamespace, "is not a namespace name", "use the namespace Argo CD runs in (default argocd)");
            if (ClusterSelector is not null)
                foreach (var (k, v) in ClusterSelector)
                    if (!Names.IsLabelKey(k) || !Names.IsLabelValue(v))
                        problems.Add(MeshErrorKind.InvalidArgument, field("ClusterSelector"), $"{k}={v}", "is not a label", "give key=value, e.g. mesh=federated");
        }
        if (format == DistributionFormat.Ocm)
        {
            if (!FieldManager.StartsWith("work-agent", StringComparison.Ordinal))
                problems.Add(MeshErrorKind.InvalidArgument, field("FieldManager"), FieldManager, "must start with work-agent (the ManifestWork API requires it)", "use work-agent-meshfederation");
            if (ClusterSet is not null && !Names.IsDns1123Subdomain(ClusterSet))
                problems.Add(MeshErrorKind.InvalidArgument, field("ClusterSet"), ClusterSet, "is not a ManagedClusterSet name", "give the name of an existing ManagedClusterSet (lower case, digits, '-')");
            if (!Names.IsDns1123Label(PlacementNamespace))
                problems.Add(MeshErrorKind.InvalidArgument, field("PlacementNamespace"), PlacementNamespace, "is not a namespace name", "give a hub namespace (default meshfederation)");
            if (MaxWorkBytes is < 4096 or > 512_000)
                problems.Add(MeshErrorKind.InvalidArgument, field("MaxWorkBytes"), MaxWorkBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    "is out of range", "use 4096 to 512000 bytes (OCM's limit is 512,000; the default 409600 leaves room for the status)");
        }
        problems.ThrowIfAny();
    }
}
