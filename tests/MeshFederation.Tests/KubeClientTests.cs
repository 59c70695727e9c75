using System.Diagnostics;
using System.Net;
using System.Text.Json.Nodes;
using MeshFederation.Engine.Kube;

namespace MeshFederation.Tests;

public sealed class KubeClientTests : IAsyncLifetime
{
    private TestClusters _clusters = null!;

    public async Task InitializeAsync() => _clusters = await TestClusters.StartAsync("c1");

    public async Task DisposeAsync() => await _clusters.DisposeAsync();

    private static JsonObject Ns(string name) => new() { ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name } };

    private static JsonObject Cm(string ns, string name, string value, string? label = null) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "ConfigMap",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = label is null ? null : new JsonObject { ["app"] = label } },
        ["data"] = new JsonObject { ["k"] = value },
    };

    [Fact]
    public async Task Discovery_answers_whether_a_kind_is_served()
    {
        using var c = _clusters.Client("c1");
        var smcp = await c.FindAsync("maistra.io/v2", "ServiceMeshControlPlane", CancellationToken.None);
        Assert.Equal("servicemeshcontrolplanes", smcp!.Name);
        Assert.True(smcp.Namespaced);
        Assert.False((await c.FindAsync("sailoperator.io/v1", "Istio", CancellationToken.None))!.Namespaced);
        Assert.Null(await c.FindAsync("example.com/v1", "Widget", CancellationToken.None));
        Assert.Null(await c.FindAsync("maistra.io/v2", "Widget", CancellationToken.None));
        var ex = await Assert.ThrowsAsync<KubeApiException>(() => c.GetAsync("example.com/v1", "Widget", "x", "y", CancellationToken.None));
        Assert.Contains("install the operator", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_get_list_by_label_and_delete()
    {
        using var c = _clusters.Client("c1");
        await c.ApplyAsync(Ns("team"), force: false, CancellationToken.None);
        var created = await c.ApplyAsync(Cm("team", "a", "1", "x"), force: false, CancellationToken.None);
        await c.ApplyAsync(Cm("team", "b", "2", "y"), force: false, CancellationToken.None);
        Assert.Equal("meshfederation", created["metadata"]!["managedFields"]![0]!["manager"]!.GetValue<string>());
        Assert.Equal("1", (await c.GetAsync("v1", "ConfigMap", "team", "a", CancellationToken.None))!["data"]!["k"]!.GetValue<string>());
        Assert.Null(await c.GetAsync("v1", "ConfigMap", "team", "zzz", CancellationToken.None));
        Assert.Equal(new[] { "a" }, (await c.ListAsync("v1", "ConfigMap", "team", "app=x", CancellationToken.None)).Select(o => o["metadata"]!["name"]!.GetValue<string>()));
        Assert.Equal(new[] { "a", "b" }, (await c.ListAsync("v1", "ConfigMap", "team", "app in (x,y)", CancellationToken.None)).Select(o => o["metadata"]!["name"]!.GetValue<string>()));
        Assert.True(await c.DeleteAsync("v1", "ConfigMap", "team", "a", "Background", CancellationToken.None));
        Assert.False(await c.DeleteAsync("v1", "ConfigMap", "team", "a", "Background", CancellationToken.None));
    }

    [Fact]
    public async Task Reapplying_the_same_object_changes_nothing_and_a_conflict_is_reported_not_forced()
    {
        using var c = _clusters.Client("c1");
        await c.ApplyAsync(Ns("team"), false, CancellationToken.None);
        var first = await c.ApplyAsync(Cm("team", "a", "1"), false, CancellationToken.None);
        var again = await c.ApplyAsync(Cm("team", "a", "1"), false, CancellationToken.None);
        Assert.Equal(first["metadata"]!["resourceVersion"]!.GetValue<string>(), again["metadata"]!["resourceVersion"]!.GetValue<string>());

        // Another manager owns data.k with another value: our apply conflicts (409, not retried) unless forced.
        _clusters["c1"].Store.Apply(TestKube.ResourceTypes.ByKind("v1", "ConfigMap")!, "team", "a", Cm("team", "a", "2"), "v1", "someone-else", force: true, status: false);
        var requests = _clusters["c1"].Requests;
        var ex = await Assert.ThrowsAsync<KubeApiException>(() => c.ApplyAsync(Cm("team", "a", "1"), false, CancellationToken.None));
        Assert.Equal(HttpStatusCode.Conflict, ex.StatusCode);
        Assert.Contains("someone-else", ex.Message, StringComparison.Ordinal);
        Assert.Equal(requests + 1, _clusters["c1"].Requests);
        var forced = await c.ApplyAsync(Cm("team", "a", "1"), true, CancellationToken.None);
        Assert.Equal("1", forced["data"]!["k"]!.GetValue<string>());
    }

    [Theory]
    [InlineData("500")]
    [InlineData("reset")]
    public async Task Server_errors_and_connection_resets_are_retried(string fault)
    {
        using var c = _clusters.Client("c1");
        await c.FindAsync("v1", "Namespace", CancellationToken.None);
        for (var i = 0; i < 3; i++) _clusters["c1"].Faults.Scripted.Enqueue(fault);
        var before = c.RequestCount;
        Assert.NotNull(await c.ListAsync("v1", "Namespace", null, null, CancellationToken.None));
        Assert.Equal(4, c.RequestCount - before);
    }

    [Fact]
    public async Task Too_many_requests_honours_Retry_After()
    {
        using var c = _clusters.Client("c1");
        await c.FindAsync("v1", "Namespace", CancellationToken.None);
        _clusters["c1"].Faults.RetryAfterSeconds = 1;
        _clusters["c1"].Faults.Scripted.Enqueue("429");
        var sw = Stopwatch.StartNew();
        await c.ListAsync("v1", "Namespace", null, null, CancellationToken.None);
        Assert.True(sw.Elapsed >= TimeSpan.FromMilliseconds(950), $"retried after {sw.ElapsedMilliseconds} ms, before Retry-After");
    }

    [Fact]
    public async Task Each_request_has_a_timeout_and_gives_up_after_the_attempts()
    {
        using var c = _clusters.Client("c1", new KubeClientOptions { RequestTimeout = TimeSpan.FromMilliseconds(200), MaxAttempts = 2, BaseDelay = TimeSpan.FromMilliseconds(1) });
        await c.FindAsync("v1", "Namespace", CancellationToken.None);
        _clusters["c1"].Faults.Scripted.Enqueue("latency:2000");
        _clusters["c1"].Faults.Scripted.Enqueue("latency:2000");
        var ex = await Assert.ThrowsAsync<KubeApiException>(() => c.ListAsync("v1", "Namespace", null, null, CancellationToken.None));
        Assert.Contains("timed out", ex.Message, StringComparison.Ordinal);
        Assert.Contains("2 attempt", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancellation_stops_a_request_at_once()
    {
        using var c = _clusters.Client("c1");
        await c.FindAsync("v1", "Namespace", CancellationToken.None);
        _clusters["c1"].Faults.Scripted.Enqueue("latency:5000");
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(100));
        var sw = Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => c.ListAsync("v1", "Namespace", null, null, cts.Token));
        Assert.True(sw.Elapsed < TimeSpan.FromSeconds(2));
    }

    [Fact]
    public async Task Errors_and_logs_never_carry_the_token()
    {
        var log = new RecordingLog();
        using var c = _clusters.Client("c1", TestClusters.Fast, log);
        _clusters["c1"].Faults.Scripted.Enqueue("500");
        await c.ListAsync("v1", "Namespace", null, null, CancellationToken.None);
        await Assert.ThrowsAsync<KubeApiException>(() => c.ApplyAsync(Cm("missing-ns", "a", "1"), false, CancellationToken.None));
        try { await c.ApplyAsync(Cm("missing-ns", "a", "1"), false, CancellationToken.None); }
        catch (KubeApiException e) { log.Warning(e.ToString()); }
        Assert.Contains("namespaces \"missing-ns\" not found", log.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(TestClusters.Token, log.Text, StringComparison.Ordinal);
        Assert.NotEmpty(log.Lines);
    }
}
