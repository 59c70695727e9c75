namespace MeshFederation.Engine.Model;

/// <summary>Where a control plane lives: a logical cluster name plus, for live work, a kubeconfig context.</summary>
public sealed record ClusterBinding(string Name)
{
    /// <summary>The cluster's network (Istio multi-primary, multi-network); <c>network-&lt;cluster&gt;</c> when unset.</summary>
    public string? Network { get; init; }

    /// <summary>
    /// The API server address other clusters' istiod use in remote secrets (istioctl create-remote-secret --server);
    /// the kubeconfig's server when null.
    /// </summary>
    public string? ApiServer { get; init; }

    /// <summary>Kubeconfig context used when applying; defaults to the cluster name.</summary>
    public string? Context { get; init; }

    /// <summary>Kubeconfig file; null means $KUBECONFIG or ~/.kube/config.</summary>
    public string? KubeConfig { get; init; }

    public override string ToString() => Context is null || Context == Name ? Name : $"{Name} (context {Context})";
}
