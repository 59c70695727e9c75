using System.Collections;
using MeshFederation.Engine.Proxy;

namespace MeshFederation.Engine.Model;

/// <summary>Mesh and cluster names found in objects a session holds, for argument completion.</summary>
public static class SessionNames
{
    public static (SortedSet<string> Meshes, SortedSet<string> Clusters) From(IEnumerable<object?> values)
    {
        var meshes = new SortedSet<string>(StringComparer.Ordinal);
        var clusters = new SortedSet<string>(StringComparer.Ordinal);
        void Add(MeshControlPlane cp)
        {
            meshes.Add(cp.Name);
            clusters.Add(cp.ClusterName);
        }
        void Visit(object? v, int depth)
        {
            switch (v)
            {
                case MeshControlPlane cp: Add(cp); break;
                case MeshPeering p: Add(p.Local); Add(p.Remote); break;
                case MeshServiceExport e: Add(e.ControlPlane); meshes.Add(e.Peer); break;
                case MeshServiceImport i: Add(i.ControlPlane); meshes.Add(i.Peer); break;
                case MeshTrafficSplit s: Add(s.ControlPlane); break;
                case FederationProxyConfig x: foreach (var m in x.Meshes) meshes.Add(m); break;
                case FederationSet set: foreach (var o in set.AllObjects()) Visit(o, depth); break;
                case string: break;
                case IEnumerable many when depth < 2: foreach (var o in many) Visit(o, depth + 1); break;
            }
        }
        foreach (var v in values) Visit(v, 0);
        return (meshes, clusters);
    }
}
