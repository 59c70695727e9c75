# The static check's engine (dot-sourced by StaticCheck.Tests.ps1): PowerShell's parser and static parameter binder.
using namespace System.Management.Automation.Language

# Native tools the documents use that need not be installed where the check runs.
$script:DocumentedNatives = @('oc', 'istioctl', 'firewall-cmd', 'haproxy', 'openssl', 'dot', 'bash')

# Functions defined anywhere in the repository's scripts and modules (tests dot-source their helpers).
function Get-RepositoryFunctionName {
    Get-PowerShellSource | Where-Object Name -Match '\.ps(m)?1$' | ForEach-Object {
        $ast = [Parser]::ParseInput($_.Text, [ref]$null, [ref]$null)
        $ast.FindAll({ param($n) $n -is [FunctionDefinitionAst] }, $true).Name
    } | Sort-Object -Unique
}

function Get-StaticProblem {
    param([string] $Name, [string] $Path, [int] $Line = 1, [Parameter(Mandatory)] [string] $Text, [string[]] $KnownFunction = @())
    $tokens = $null
    $errors = $null
    $ast = [Parser]::ParseInput($Text, [ref]$tokens, [ref]$errors)
    foreach ($e in $errors) { '{0}:{1}:{2}: syntax error: {3}' -f $Name, ($e.Extent.StartLineNumber + $Line - 1), $e.Extent.StartColumnNumber, $e.Message }
    if ($errors) { return }
    if ($Path -like '*.psd1') {
        try { $null = Import-PowerShellDataFile -LiteralPath $Path } catch { '{0}: not a valid PowerShell data file: {1}' -f $Name, $_.Exception.Message }
        return
    }
    $local = @($ast.FindAll({ param($n) $n -is [FunctionDefinitionAst] }, $true).Name)
    $base = if ($Path -and $Path -notlike '*.md' -and $Path -notlike '*.yml') { Split-Path $Path } else { $RepoRoot }
    Push-Location $base
    try {
        foreach ($command in $ast.FindAll({ param($n) $n -is [CommandAst] }, $true)) {
            $commandName = $command.GetCommandName()
            $at = '{0}:{1}' -f $Name, ($command.Extent.StartLineNumber + $Line - 1)
            # & $scriptBlock, & $variable, . $file: not statically known.
            if (-not $commandName -or $command.CommandElements[0] -isnot [StringConstantExpressionAst]) { continue }
            if ($commandName -in $local -or $commandName -in $KnownFunction) { continue }
            $info = Get-Command -Name $commandName -ErrorAction Ignore | Select-Object -First 1
            if (-not $info -and $commandName -match '\.ps1$') {
                $info = Get-Command -Name (Join-Path $RepoRoot $commandName) -ErrorAction Ignore
                if (-not $info) { "${at}: script $commandName does not exist"; continue }
            }
            if (-not $info) {
                if ($commandName -notin $DocumentedNatives) { "${at}: unknown command '$commandName' (not a MeshFederation cmdlet, a built-in, a repository function or a known tool)" }
                continue
            }
            if ($info.CommandType -eq 'Application') { continue }
            $binding = [StaticParameterBinder]::BindCommand($command, $true)
            $piped = $command.Parent -is [PipelineAst] -and $command.Parent.PipelineElements.IndexOf($command) -gt 0
            foreach ($key in $binding.BindingExceptions.Keys) {
                $problem = $binding.BindingExceptions[$key]
                # Splatted arguments (@params) bind to names the parser cannot see.
                if ($problem.CommandElement -is [VariableExpressionAst] -and $problem.CommandElement.Splatted) { continue }
                # A parameter set that needs the pipeline's objects: they come from the previous command.
                if ($piped -and $problem.BindingException.ErrorId -eq 'MissingArgument' -and $problem.CommandElement -eq $command.CommandElements[0]) { continue }
                # A provider's dynamic parameter (Get-ChildItem -Directory): bound when the path is a file-system path.
                if ($problem.BindingException.ErrorId -eq 'NamedParameterNotFound' -and $info.ImplementingType -and
                    [System.Management.Automation.IDynamicParameters].IsAssignableFrom($info.ImplementingType)) {
                    $name = $problem.CommandElement.ParameterName
                    $dynamic = @((Get-Command $commandName -ArgumentList $RepoRoot).Parameters.Values | ForEach-Object { @($_.Name) + @($_.Aliases) })
                    if ($dynamic -contains $name -or @($dynamic | Where-Object { $_ -like "$name*" }).Count -eq 1) { continue }
                }
                "${at}: $commandName $($problem.CommandElement.Extent.Text): $($problem.BindingException.Message)"
            }
        }
    } finally {
        Pop-Location
    }
}
