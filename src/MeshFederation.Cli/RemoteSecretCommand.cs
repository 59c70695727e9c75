using System.CommandLine;
using System.Globalization;
using System.Text.RegularExpressions;
using MeshFederation.Engine.Kube;
using MeshFederation.Engine.Live;
using MeshFederation.Engine.Model;
using MeshFederation.Engine.Rotation;
using MeshFederation.Engine.Validation;
using MeshFederation.Engine.Yaml;

namespace MeshFederation.Cli;

public static partial class MeshfedApp
{
    /// <summary>
    /// meshfed remote-secret rotate: a new reader token on the remote cluster, every istio-remote-secret pointing at it
    /// updated and verified, then the old token revoked (issue 18).
    /// </summary>
    private static Command RemoteSecretCommand(IYamlBridge yaml, TextWriter stdout, TextWriter stderr)
    {
        var cluster = new Option<string>("--cluster") { Description = "The remote cluster whose reader credential is rotated (one of the --context names).", Required = true };
        var contexts = new Option<string[]>("--context") { Description = "Every cluster of the mesh (kubeconfig contexts; repeatable), the remote one among them.", AllowMultipleArgumentsPerToken = true, Required = true };
        var kubeconfig = new Option<FileInfo?>("--kubeconfig") { Description = "Kubeconfig file ($KUBECONFIG, ~/.kube/config by default)." };
        var ns = new Option<string>("--namespace", "-n") { Description = "The control plane's namespace (remote secrets, and the reader on the remote cluster).", DefaultValueFactory = _ => "istio-system" };
        var serviceAccount = new Option<string?>("--service-account") { Description = "The reader ServiceAccount on the remote cluster (default: the one the current tokens name, else meshfed-reader)." };
        var bound = new Option<bool>("--bound-token") { Description = "Issue a bound token (TokenRequest) that expires after --token-expiry instead of a long-lived token Secret. A bound token cannot be revoked before it expires except by deleting the ServiceAccount." };
        var expiry = new Option<string?>("--token-expiry") { Description = "Lifetime of the bound token: 10m to 365d (e.g. 24h, 7d); rotate again before it ends." };
        var takeOver = new Option<bool>("--take-over") { Description = "Also update remote secrets meshfed did not create (only their token changes)." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds to wait for the new token and for every secret to work with it.", DefaultValueFactory = _ => 120 };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan; change nothing." };
        var yes = new Option<bool>("--yes", "-y") { Description = "Rotate without asking." };
        var rotate = new Command("rotate", "Rotate the reader credential of a remote cluster: issue a new reader token there, update every istio-remote-secret pointing at it in the other clusters (each only if unchanged since read), verify each works as istiod uses it, and only then revoke the old token Secret (when meshfed created it; anything else is reported with how to revoke it).")
        {
            cluster, contexts, kubeconfig, ns, serviceAccount, bound, expiry, takeOver, timeout, dryRun, yes,
        };
        rotate.SetAction((r, ct) => GuardAsync(stderr, async () =>
        {
            var t = r.GetValue(timeout);
            if (t is < 1 or > 86400)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--timeout", t.ToString(CultureInfo.InvariantCulture), "is out of range", "use 1 to 86400 seconds"));
            TimeSpan? life = null;
            if (r.GetValue(expiry) is { } text)
            {
                if (!r.GetValue(bound))
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--token-expiry", text, "applies to bound tokens only", "add --bound-token, or leave --token-expiry out for a long-lived token Secret"));
                life = ParseDuration(text, "--token-expiry");
            }
            else if (r.GetValue(bound))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--token-expiry", null, "is required with --bound-token", "give the bound token's lifetime, e.g. --token-expiry 24h"));
            var log = new CliLog(stderr);
            var kc = r.GetValue(kubeconfig)?.FullName;
            using var connections = new ClusterConnections(yaml, kc, new KubeClientOptions(), log);
            var rotation = new CredentialRotation(connections, r.GetValue(contexts)!.Select(c => new ClusterBinding(c) { Context = c }), r.GetValue(cluster)!, new CredentialRotationOptions
            {
                Namespace = r.GetValue(ns)!, ServiceAccount = r.GetValue(serviceAccount), TokenExpiry = life, TakeOver = r.GetValue(takeOver), WaitTimeout = TimeSpan.FromSeconds(t),
            }, log);
            var plan = await rotation.PlanAsync(ct).ConfigureAwait(false);
            WriteRows(stdout, new[] { "ACTION", "CLUSTER", "KIND", "NAMESPACE", "NAME", "CHANGE" },
                plan.Changes.Select(c => new[] { c.Action.ToUpperInvariant(), c.Cluster, c.Kind, c.Namespace, c.Name, c.Description }));
            stdout.WriteLine($"plan: {plan}");
            if (r.GetValue(dryRun)) return ExitOk;
            if (!r.GetValue(yes))
            {
                if (Console.IsInputRedirected)
                    throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, "--yes", null,
                        "is required when there is no terminal to ask on: this replaces the token in remote secrets and deletes the old token Secret", "review the plan (--dry-run), then run again with --yes"));
                stdout.Write($"Rotate the reader credential of {plan.RemoteCluster}? [y/N] ");
                if (Console.ReadLine()?.Trim().ToUpperInvariant() is not ("Y" or "YES"))
                {
                    stdout.WriteLine("nothing changed");
                    return ExitOk;
                }
            }
            var result = await rotation.ApplyAsync(plan, _ => true, ct).ConfigureAwait(false);
            foreach (var s in result.Secrets) stdout.WriteLine(s.ToString());
            foreach (var o in result.OldCredentials) stdout.WriteLine(o.ToString());
            stdout.WriteLine($"result: {result}");
            if (!result.Verified)
            {
                stderr.WriteLine($"meshfed: error: the new credential does not work in every remote secret of {result.RemoteCluster}; the old credential was NOT revoked. Fix what the lines above name, then run the rotation again (it revokes the old token too)");
                return ExitFailed;
            }
            return ExitOk;
        }));
        return new Command("remote-secret", "Work with the Istio remote secrets (istio-remote-secret-<cluster>) of a multi-primary mesh.") { rotate };
    }

    /// <summary>A duration as Go and kubectl write it: 90s, 30m, 24h, 7d (one unit).</summary>
    private static TimeSpan ParseDuration(string text, string field)
    {
        var m = DurationPattern().Match(text);
        if (!m.Success)
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, field, text, "is not a duration", "give a number with a unit: s, m, h or d (e.g. 24h, 7d)"));
        var n = double.Parse(m.Groups["n"].Value, CultureInfo.InvariantCulture);
        return m.Groups["u"].Value switch
        {
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        };
    }

    [GeneratedRegex(@"^\s*(?<n>\d{1,6}(\.\d+)?)(?<u>s|m|h|d)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex DurationPattern();
}
