using System.Diagnostics;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;

namespace MeshFederation.Engine.Checks;

/// <summary>The outcome of one probe.</summary>
public sealed record ProbeResult(string Address, int Port, bool Connected, bool? TlsAnswered, string? ServerCertificate, TimeSpan Elapsed, string Detail);

/// <summary>
/// Network probes from where the command runs: a TCP connect to a remote federation port, then a TLS handshake where
/// one is expected. The server's certificate is recorded (subject and issuer only); a handshake the server ends after
/// sending its certificate (it wants a client certificate) still proves TLS is spoken there.
/// </summary>
public static class NetworkProbe
{
    public static async Task<ProbeResult> ProbeAsync(string address, int port, bool expectTls, string? serverName, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(address, port, cts.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new ProbeResult(address, port, false, null, null, sw.Elapsed, e is OperationCanceledException ? $"no answer within {timeout.TotalSeconds:0.#} s" : e.Message);
        }
        if (!expectTls) return new ProbeResult(address, port, true, null, null, sw.Elapsed, "TCP connect succeeded");
        string? certificate = null;
        // A probe only asks whether TLS is spoken and records the certificate; nothing is sent over the connection.
#pragma warning disable CA5359
        using var ssl = new SslStream(client.GetStream(), leaveInnerStreamOpen: false, (_, cert, _, _) =>
        {
            if (cert is not null) certificate = $"subject={cert.Subject}; issuer={cert.Issuer}";
            return true;
        });
#pragma warning restore CA5359
        try
        {
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = serverName ?? address,
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
            }, cts.Token).ConfigureAwait(false);
            return new ProbeResult(address, port, true, true, certificate, sw.Elapsed, "TLS handshake completed");
        }
        catch (Exception e) when (e is AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return certificate is not null
                ? new ProbeResult(address, port, true, true, certificate, sw.Elapsed, $"TLS answered; the handshake ended after the server certificate ({Inner(e)}), as a gateway requiring mutual TLS does")
                : new ProbeResult(address, port, true, false, null, sw.Elapsed, $"connected, but no TLS server answered ({Inner(e)})");
        }
    }

    private static string Inner(Exception e)
    {
        while (e.InnerException is not null) e = e.InnerException;
        return e.Message;
    }
}
