using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Validation;

namespace MeshFederation.Engine.Kube;

/// <summary>What an exec credential plugin returned.</summary>
public sealed record ExecCredential(string? Token, string? ClientCertificatePem, string? ClientKeyPem, DateTimeOffset? Expires);

/// <summary>
/// Runs a kubeconfig exec credential plugin (client.authentication.k8s.io v1/v1beta1) with its args and env and
/// KUBERNETES_EXEC_INFO, and caches the credential until it expires. The plugin's output is never logged.
/// </summary>
public sealed class ExecCredentialProvider : IDisposable
{
    private readonly ExecConfig _config;
    private readonly KubeContext _context;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private ExecCredential? _cached;

    public ExecCredentialProvider(ExecConfig config, KubeContext context)
    {
        _config = config;
        _context = context;
    }

    public async Task<ExecCredential> GetAsync(bool refresh, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (!refresh && _cached is not null && (_cached.Expires is null || _cached.Expires > DateTimeOffset.UtcNow.AddSeconds(10))) return _cached;
            _cached = await RunAsync(cancellationToken).ConfigureAwait(false);
            return _cached;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<ExecCredential> RunAsync(CancellationToken cancellationToken)
    {
        var field = $"kubeconfig user of context '{_context.Name}'.exec";
        var psi = new ProcessStartInfo(ResolveCommand(_config.Command, _config.BaseDirectory))
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (var a in _config.Args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in _config.Env) psi.Environment[k] = v;
        var info = new JsonObject { ["apiVersion"] = _config.ApiVersion, ["kind"] = "ExecCredential", ["spec"] = new JsonObject { ["interactive"] = false } };
        if (_config.ProvideClusterInfo)
            info["spec"]!["cluster"] = new JsonObject
            {
                ["server"] = _context.Server.ToString(),
                ["tls-server-name"] = _context.TlsServerName,
                ["insecure-skip-tls-verify"] = _context.InsecureSkipTlsVerify,
                ["certificate-authority-data"] = _context.CertificateAuthorityPem is null ? null : Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(_context.CertificateAuthorityPem)),
            };
        psi.Environment["KUBERNETES_EXEC_INFO"] = info.ToJsonString();

        Process process;
        try
        {
            process = Process.Start(psi) ?? throw new InvalidOperationException("process did not start");
        }
        catch (Exception ex) when (ex is System.ComponentModel.Win32Exception or InvalidOperationException)
        {
            throw new MeshFederationException(new MeshProblem(MeshErrorKind.NotFound, $"{field}.command", _config.Command,
                $"could not be started ({ex.Message})", _config.InstallHint ?? "install the credential plugin or fix the command path"));
        }
        using (process)
        {
            process.StandardInput.Close();
            var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            try
            {
                await process.WaitForExitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw;
            }
            var output = await stdout.ConfigureAwait(false);
            var error = await stderr.ConfigureAwait(false);
            if (process.ExitCode != 0)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidArgument, $"{field}.command", _config.Command,
                    $"exited with code {process.ExitCode}: {FirstLine(error)}", _config.InstallHint ?? "run the plugin by hand to see why it fails (for example, log in again)"));
            JsonObject? cred;
            try
            {
                cred = JsonNode.Parse(output) as JsonObject;
            }
            catch (JsonException)
            {
                cred = null;
            }
            if (cred is null || cred["kind"]?.GetValue<string>() != "ExecCredential")
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, $"{field}.command", _config.Command,
                    "did not print an ExecCredential object", "check that the plugin supports client.authentication.k8s.io"));
            var api = cred["apiVersion"]?.GetValue<string>();
            if (api != _config.ApiVersion)
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, $"{field}.apiVersion", api,
                    $"does not match the requested {_config.ApiVersion}", "set exec.apiVersion to what the plugin returns"));
            var status = cred["status"] as JsonObject;
            var token = status?["token"]?.GetValue<string>();
            var cert = status?["clientCertificateData"]?.GetValue<string>();
            var key = status?["clientKeyData"]?.GetValue<string>();
            if (string.IsNullOrEmpty(token) && (string.IsNullOrEmpty(cert) || string.IsNullOrEmpty(key)))
                throw new MeshFederationException(new MeshProblem(MeshErrorKind.InvalidData, $"{field}.status", null,
                    "holds neither a token nor a client certificate and key", "check the plugin's output"));
            DateTimeOffset? expires = status?["expirationTimestamp"]?.GetValue<string>() is { } ts && DateTimeOffset.TryParse(ts, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var e) ? e : null;
            return new ExecCredential(token, cert, key, expires);
        }
    }

    public void Dispose() => _gate.Dispose();

    private static string FirstLine(string text)
    {
        var line = text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault() ?? "(no output)";
        return line.Length > 200 ? line[..200] + "..." : line;
    }

    private static string ResolveCommand(string command, string baseDirectory)
    {
        // kubectl resolves a command with a path separator relative to the kubeconfig file; bare names come from PATH.
        if (command.Contains('/', StringComparison.Ordinal) && !Path.IsPathRooted(command)) return Path.GetFullPath(Path.Combine(baseDirectory, command));
        return command;
    }
}
