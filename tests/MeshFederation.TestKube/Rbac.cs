using System.Text.Json.Nodes;

namespace MeshFederation.TestKube;

/// <summary>
/// Answers "may this user do this?" as kube-apiserver's RBAC authorizer does, from the ClusterRoles, Roles and their
/// bindings in the store: a ClusterRoleBinding grants everywhere, a RoleBinding only in its namespace. Users named in
/// <see cref="FakeApiServer.Admins"/> (system:masters) may do everything. Service-account users are
/// <c>system:serviceaccount:&lt;namespace&gt;:&lt;name&gt;</c> and also in the groups system:serviceaccounts and
/// system:serviceaccounts:&lt;namespace&gt;.
/// </summary>
public static class Rbac
{
    public static (bool Allowed, string Reason) Allows(ObjectStore store, ISet<string> admins, string user, string verb, string group, string resource, string? ns, string? name)
    {
        if (admins.Contains(user)) return (true, "system:masters");
        var groups = new HashSet<string>(StringComparer.Ordinal) { "system:authenticated" };
        var parts = user.Split(':');
        string? saNamespace = null, saName = null;
        if (parts.Length == 4 && parts[0] == "system" && parts[1] == "serviceaccount")
        {
            (saNamespace, saName) = (parts[2], parts[3]);
            groups.Add("system:serviceaccounts");
            groups.Add("system:serviceaccounts:" + saNamespace);
        }
        bool Subject(JsonObject s, string? bindingNamespace) => s["kind"]?.GetValue<string>() switch
        {
            "ServiceAccount" => s["name"]?.GetValue<string>() == saName && (s["namespace"]?.GetValue<string>() ?? bindingNamespace) == saNamespace && saName is not null,
            "User" => s["name"]?.GetValue<string>() == user,
            "Group" => s["name"]?.GetValue<string>() is { } g && groups.Contains(g),
            _ => false,
        };
        bool Rule(JsonObject r)
        {
            static bool Has(JsonNode? list, string value) => (list as JsonArray)?.Any(x => x?.GetValue<string>() is { } v && (v == "*" || v == value)) == true;
            if (!Has(r["verbs"], verb) || !Has(r["apiGroups"], group) || !Has(r["resources"], resource)) return false;
            return r["resourceNames"] is not JsonArray { Count: > 0 } names || (name is not null && Has(names, name));
        }
        IEnumerable<JsonObject> Rules(JsonNode? roleRef, string? bindingNamespace)
        {
            var kind = roleRef?["kind"]?.GetValue<string>();
            var roleName = roleRef?["name"]?.GetValue<string>() ?? "";
            var role = kind == "ClusterRole" ? store.Get(ResourceTypes.ByKind("rbac.authorization.k8s.io/v1", "ClusterRole")!, null, roleName, "v1")
                : store.Get(ResourceTypes.ByKind("rbac.authorization.k8s.io/v1", "Role")!, bindingNamespace, roleName, "v1");
            return (role?["rules"] as JsonArray)?.OfType<JsonObject>() ?? Enumerable.Empty<JsonObject>();
        }
        foreach (var b in store.List(ResourceTypes.ByKind("rbac.authorization.k8s.io/v1", "ClusterRoleBinding")!, null, null, "v1"))
            if ((b["subjects"] as JsonArray)?.OfType<JsonObject>().Any(s => Subject(s, null)) == true && Rules(b["roleRef"], null).Any(Rule))
                return (true, $"RBAC: allowed by ClusterRoleBinding \"{b["metadata"]!["name"]}\"");
        if (ns is not null)
            foreach (var b in store.List(ResourceTypes.ByKind("rbac.authorization.k8s.io/v1", "RoleBinding")!, ns, null, "v1"))
                if ((b["subjects"] as JsonArray)?.OfType<JsonObject>().Any(s => Subject(s, ns)) == true && Rules(b["roleRef"], ns).Any(Rule))
                    return (true, $"RBAC: allowed by RoleBinding \"{b["metadata"]!["name"]}/{ns}\"");
        return (false, "");
    }
}
