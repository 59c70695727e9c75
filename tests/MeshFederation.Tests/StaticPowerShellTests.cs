using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace MeshFederation.Tests;

/// <summary>
/// The static PowerShell check: every .ps1/.psm1/.psd1, every powershell block of README and docs and every pwsh step
/// of the GitHub workflow is parsed by tree-sitter-powershell (npm); syntax errors fail; every command must be one of
/// our cmdlets (from the compiled module's metadata) or a known built-in, and every named parameter of our cmdlets
/// (and of the built-ins listed below) must bind as PowerShell binds it: exact name or alias, or an unambiguous prefix.
/// </summary>
public partial class StaticPowerShellTests
{
    private static readonly string[] Common =
    {
        "Verbose", "Debug", "ErrorAction", "WarningAction", "InformationAction", "ProgressAction", "ErrorVariable", "WarningVariable",
        "InformationVariable", "OutVariable", "OutBuffer", "PipelineVariable",
    };

    private static readonly string[] WhereOperators =
    {
        "EQ", "CEQ", "NE", "CNE", "GT", "CGT", "LT", "CLT", "GE", "CGE", "LE", "CLE", "Like", "CLike", "NotLike", "CNotLike", "Match", "CMatch",
        "NotMatch", "CNotMatch", "Contains", "CContains", "NotContains", "CNotContains", "In", "CIn", "NotIn", "CNotIn", "Is", "IsNot", "Not",
    };

    /// <summary>Built-ins and their parameters; null means the name is known but parameters are not checked.</summary>
    private static readonly Dictionary<string, string[]?> BuiltIns = new(StringComparer.OrdinalIgnoreCase)
    {
        ["Where-Object"] = WhereOperators.Concat(new[] { "FilterScript", "Property", "Value", "InputObject" }).ToArray(),
        ["Select-Object"] = new[] { "Property", "ExcludeProperty", "ExpandProperty", "First", "Last", "Skip", "SkipLast", "Unique", "InputObject", "Index", "Wait", "CaseInsensitive" },
        ["Format-Table"] = new[] { "Property", "AutoSize", "Wrap", "GroupBy", "HideTableHeaders", "View", "InputObject", "Force", "DisplayError", "ShowError", "Expand", "RepeatHeader" },
        ["Format-List"] = new[] { "Property", "GroupBy", "View", "InputObject", "Force", "DisplayError", "ShowError", "Expand" },
        ["Get-ChildItem"] = new[] { "Path", "LiteralPath", "Filter", "Include", "Exclude", "Recurse", "Depth", "Force", "Name", "Attributes", "FollowSymlink", "Directory", "File", "Hidden", "ReadOnly", "System" },
        ["Join-Path"] = new[] { "Path", "ChildPath", "AdditionalChildPath", "Resolve", "Credential", "Extension" },
        ["Test-Path"] = new[] { "Path", "LiteralPath", "Filter", "Include", "Exclude", "PathType", "IsValid", "Credential", "OlderThan", "NewerThan" },
        ["Set-Content"] = new[] { "Path", "LiteralPath", "Value", "Encoding", "NoNewline", "AsByteStream", "Force", "PassThru", "Filter", "Include", "Exclude", "Credential", "Stream", "WhatIf", "Confirm" },
        ["Import-Module"] = new[] { "Name", "FullyQualifiedName", "Assembly", "ModuleInfo", "Force", "PassThru", "AsCustomObject", "MinimumVersion", "MaximumVersion", "RequiredVersion", "Prefix", "DisableNameChecking", "NoClobber", "Scope", "Global", "Function", "Cmdlet", "Variable", "Alias", "ArgumentList", "SkipEditionCheck", "UseWindowsPowerShell" },
        ["ForEach-Object"] = new[] { "Process", "Begin", "End", "RemainingScripts", "MemberName", "ArgumentList", "InputObject", "Parallel", "ThrottleLimit", "TimeoutSeconds", "AsJob", "UseNewRunspace", "WhatIf", "Confirm" },
        ["Sort-Object"] = null, ["Tee-Object"] = null, ["Measure-Object"] = null, ["Group-Object"] = null, ["Get-Content"] = null, ["Out-Null"] = null,
        ["Copy-Item"] = null, ["Remove-Item"] = null, ["New-Item"] = null, ["Get-Item"] = null, ["Write-Host"] = null, ["Write-Warning"] = null,
        ["Write-Error"] = null, ["Get-Command"] = null, ["Get-Help"] = null, ["Get-Module"] = null, ["Install-Module"] = null, ["Import-PowerShellDataFile"] = null,
        ["Set-StrictMode"] = null, ["Get-Variable"] = null, ["ConvertTo-Json"] = null, ["ConvertFrom-Json"] = null, ["Split-Path"] = null, ["Resolve-Path"] = null,
        ["New-PesterConfiguration"] = null, ["Invoke-Pester"] = null, ["Describe"] = null, ["Context"] = null, ["It"] = null, ["BeforeAll"] = null,
        ["BeforeEach"] = null, ["AfterAll"] = null, ["BeforeDiscovery"] = null, ["Should"] = null,
        ["Out-File"] = null, ["Out-String"] = null, ["TabExpansion2"] = null, ["Register-PSResourceRepository"] = null, ["Get-PSResourceRepository"] = null, ["Publish-PSResource"] = null, ["New-ExternalHelp"] = null,
        ["dotnet"] = null, ["kubectl"] = null, ["oc"] = null, ["npm"] = null, ["node"] = null, ["git"] = null, ["pwsh"] = null, ["bash"] = null, ["haproxy"] = null,
    };

    private static List<(string Name, string Text)> Sources()
    {
        var root = Paths.RepoRoot;
        var skip = new Regex(@"[\\/](node_modules|bin|obj|out|TestResults|rendered|\.tools)[\\/]");
        var list = new List<(string, string)>();
        foreach (var f in Directory.GetFiles(root, "*.*", SearchOption.AllDirectories).Where(f => !skip.IsMatch(f)).Order(StringComparer.Ordinal))
        {
            var rel = Path.GetRelativePath(root, f);
            if (f.EndsWith(".ps1", StringComparison.Ordinal) || f.EndsWith(".psm1", StringComparison.Ordinal) || f.EndsWith(".psd1", StringComparison.Ordinal))
                list.Add((rel, File.ReadAllText(f)));
            else if (f.EndsWith(".md", StringComparison.Ordinal) && (rel == "README.md" || rel.StartsWith("docs", StringComparison.Ordinal)))
            {
                var i = 0;
                foreach (Match m in CodeBlock().Matches(File.ReadAllText(f))) list.Add(($"{rel}#block{++i}", m.Groups["code"].Value));
            }
            else if (rel.StartsWith(Path.Combine(".github", "workflows"), StringComparison.Ordinal) && (f.EndsWith(".yml", StringComparison.Ordinal) || f.EndsWith(".yaml", StringComparison.Ordinal)))
            {
                var i = 0;
                foreach (var step in WorkflowSteps(File.ReadAllText(f))) list.Add(($"{rel}#pwsh-step{++i}", step));
            }
        }
        return list;
    }

    /// <summary>The run scripts of steps whose shell is pwsh (the workflow's default shell counts).</summary>
    internal static IEnumerable<string> WorkflowSteps(string yaml)
    {
        var doc = TestSupport.Yaml.Parse(yaml, "workflow").Single().ToJson()!;
        var defaultShell = doc["defaults"]?["run"]?["shell"]?.GetValue<string>();
        foreach (var (_, job) in doc["jobs"]!.AsObject())
        {
            var jobShell = job?["defaults"]?["run"]?["shell"]?.GetValue<string>() ?? defaultShell;
            foreach (var step in (job?["steps"] as JsonArray ?? new JsonArray()).OfType<JsonObject>())
                if (step["run"] is { } run && (step["shell"]?.GetValue<string>() ?? jobShell) == "pwsh")
                    yield return Regex.Replace(run.GetValue<string>(), @"\$\{\{[^}]*\}\}", "expr");
        }
    }

    private static JsonArray Parse(List<(string Name, string Text)> sources)
    {
        var dir = Path.Combine(Paths.RepoRoot, "tests", "static");
        if (!Directory.Exists(Path.Combine(dir, "node_modules", "tree-sitter-powershell")))
        {
            var (code, output) = ExternalTools.Run("npm", $"ci --no-audit --no-fund --prefix {dir}", TimeSpan.FromMinutes(5));
            Assert.True(code == 0, "npm ci for tree-sitter failed: " + output);
        }
        var psi = new ProcessStartInfo(ExternalTools.Require("node"), Path.Combine(dir, "ps-commands.mjs"))
        {
            RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = dir,
        };
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        p.StandardInput.Write(JsonSerializer.Serialize(sources.Select(s => new { name = s.Name, text = s.Text })));
        p.StandardInput.Close();
        var err = p.StandardError.ReadToEnd();
        p.WaitForExit();
        Assert.True(p.ExitCode == 0, "tree-sitter parse failed: " + err);
        return JsonNode.Parse(stdout.Result)!.AsArray();
    }

    [Fact]
    public void Every_script_and_code_block_parses_and_uses_real_commands_and_parameters()
    {
        var sources = Sources();
        Assert.Contains(sources, s => s.Name.EndsWith(".psd1", StringComparison.Ordinal));
        Assert.Contains(sources, s => s.Name.StartsWith("README.md#", StringComparison.Ordinal));
        Assert.Contains(sources, s => s.Name.StartsWith("examples", StringComparison.Ordinal));
        Assert.Contains(sources, s => s.Name.Contains("#pwsh-step", StringComparison.Ordinal));
        var results = Parse(sources);
        var cmdlets = CmdletMetadata.Load().ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        var problems = new List<string>();
        var checkedParameters = 0;
        foreach (var r in results)
        {
            var name = r!["name"]!.GetValue<string>();
            foreach (var e in r["errors"]!.AsArray())
                problems.Add($"{name}:{e!["line"]}:{e["column"]}: syntax error near '{e["text"]}'");
            var functions = r["functions"]!.AsArray().Select(f => f!.GetValue<string>()).ToHashSet(StringComparer.OrdinalIgnoreCase);
            foreach (var c in r["commands"]!.AsArray())
            {
                var command = c!["name"]!.GetValue<string>();
                var at = $"{name}:{c["line"]}";
                var parameters = c["parameters"]!.AsArray().Select(x => x!.GetValue<string>()).ToList();
                // Our own scripts (./build.ps1, examples): parameters must be in their param() block.
                if (command.EndsWith(".ps1", StringComparison.OrdinalIgnoreCase))
                {
                    var script = Path.Combine(Paths.RepoRoot, command.TrimStart('.', '/', '\\'));
                    if (!File.Exists(script)) { problems.Add($"{at}: script {command} does not exist"); continue; }
                    var declared = ScriptParameters(File.ReadAllText(script)).Concat(Common).ToList();
                    foreach (var p in parameters.Where(p => declared.Count(n => n.StartsWith(p, StringComparison.OrdinalIgnoreCase)) != 1 && !declared.Contains(p, StringComparer.OrdinalIgnoreCase)))
                        problems.Add($"{at}: {command} has no parameter -{p}");
                    checkedParameters += parameters.Count;
                    continue;
                }
                // Variables, dot-sourcing, the call operator and expressions the grammar reads as command names (1..3) are not commands.
                if (command.StartsWith('$') || command.StartsWith('.') || command.StartsWith('&') || char.IsDigit(command[0]) || functions.Contains(command)) continue;
                if (cmdlets.TryGetValue(command, out var cmdlet))
                {
                    var names = cmdlet.Parameters.Select(p => p.Name).Distinct().ToList();
                    var aliases = cmdlet.Parameters.SelectMany(p => p.Aliases.Select(a => (Alias: a, p.Name))).ToList();
                    var all = names.Concat(Common).Concat(cmdlet.SupportsShouldProcess ? new[] { "WhatIf", "Confirm" } : Array.Empty<string>()).ToList();
                    foreach (var p in parameters)
                    {
                        checkedParameters++;
                        if (all.Contains(p, StringComparer.OrdinalIgnoreCase) || aliases.Any(a => a.Alias.Equals(p, StringComparison.OrdinalIgnoreCase))) continue;
                        var matches = all.Concat(aliases.Select(a => a.Alias)).Where(n => n.StartsWith(p, StringComparison.OrdinalIgnoreCase)).ToList();
                        if (matches.Count == 0) problems.Add($"{at}: {command} has no parameter -{p}");
                        else if (matches.Count > 1) problems.Add($"{at}: {command} -{p} is ambiguous ({string.Join(", ", matches)})");
                    }
                }
                else if (BuiltIns.TryGetValue(command, out var known))
                {
                    if (known is null) continue;
                    var all = known.Concat(Common).ToList();
                    foreach (var p in parameters.Where(p => !all.Contains(p, StringComparer.OrdinalIgnoreCase)))
                    {
                        var matches = all.Where(n => n.StartsWith(p, StringComparison.OrdinalIgnoreCase)).ToList();
                        if (matches.Count != 1) problems.Add($"{at}: {command} -{p} does not bind ({(matches.Count == 0 ? "no such parameter" : "ambiguous")})");
                    }
                }
                else problems.Add($"{at}: unknown command '{command}' (not a MeshFederation cmdlet or a known built-in)");
            }
        }
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.True(checkedParameters > 50, $"only {checkedParameters} parameters were checked");
    }

    [Fact]
    public void Script_parameters_are_read_from_the_param_block()
    {
        Assert.Equal(new[] { "Task", "Configuration" }, ScriptParameters(File.ReadAllText(Path.Combine(Paths.RepoRoot, "build.ps1"))));
        Assert.Equal(new[] { "ProxyHost", "ClusterAddress", "OutputPath" }, ScriptParameters(File.ReadAllText(Paths.Example("seed-000-nodeport.ps1"))));
    }

    [Theory]
    [InlineData("New-MeshPeer -Control $x", true)]            // unambiguous prefix of -ControlPlane
    [InlineData("New-MeshPeer -Bogus 1", false)]              // no such parameter
    [InlineData("New-MeshControlPlane -N x", false)]          // ambiguous: Name, Namespace, NodeAddress, NodePortBase
    [InlineData("New-MeshControlPlane -Member a", true)]      // alias
    [InlineData("Export-MeshManifest -Path x -WhatIf", true)] // ShouldProcess
    [InlineData("New-MeshPeer -WhatIf", false)]               // no ShouldProcess
    [InlineData("Get-Frobnicator", false)]                    // unknown command
    [InlineData("Get-Item -Path (", false)]                   // syntax error
    public void The_check_fails_on_what_PowerShell_would_reject(string code, bool ok)
    {
        var results = Parse(new List<(string, string)> { ("probe", code) });
        var cmdlets = CmdletMetadata.Load().ToDictionary(c => c.Name, StringComparer.OrdinalIgnoreCase);
        var r = results[0]!;
        var failed = r["errors"]!.AsArray().Count > 0;
        foreach (var c in r["commands"]!.AsArray())
        {
            var command = c!["name"]!.GetValue<string>();
            if (!cmdlets.TryGetValue(command, out var cmdlet)) { failed |= !BuiltIns.ContainsKey(command); continue; }
            var all = cmdlet.Parameters.Select(p => p.Name).Concat(cmdlet.Parameters.SelectMany(p => p.Aliases)).Concat(Common)
                .Concat(cmdlet.SupportsShouldProcess ? new[] { "WhatIf", "Confirm" } : Array.Empty<string>()).Distinct().ToList();
            foreach (var p in c["parameters"]!.AsArray().Select(x => x!.GetValue<string>()))
                failed |= !all.Contains(p, StringComparer.OrdinalIgnoreCase) && all.Count(n => n.StartsWith(p, StringComparison.OrdinalIgnoreCase)) != 1;
        }
        Assert.Equal(!ok, failed);
    }

    /// <summary>The parameter names of a script's top-level param() block.</summary>
    internal static IEnumerable<string> ScriptParameters(string script)
    {
        var m = Regex.Match(script, @"^\s*param\s*\((?<body>(?:[^()]|\((?<d>)|\)(?<-d>))*)\)", RegexOptions.Multiline | RegexOptions.IgnoreCase);
        // A declaration is a variable followed by '=', ',' or the end of the line (default values hold other variables).
        return m.Success ? Regex.Matches(m.Groups["body"].Value, @"\$(\w+)\s*(?:=|,|$)", RegexOptions.Multiline).Select(x => x.Groups[1].Value).Distinct() : Enumerable.Empty<string>();
    }

    [GeneratedRegex(@"```(?:powershell|pwsh|ps1|PowerShell)\s*\n(?<code>.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();
}
