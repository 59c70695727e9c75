#Requires -Version 7.4
# Starts and stops tests/MeshFederation.TestKube.Host (fake Kubernetes API servers in their own process) for Pester.
#   BeforeAll { Import-Module "$PSScriptRoot/Support/TestKube.psm1"; $kube = Start-TestKube -Cluster blue, green -Operator ossm2, federation }
#   AfterAll  { Stop-TestKube $kube }
# $kube.Kubeconfig is a kubeconfig with a context per cluster; $kube.Clusters describes them (name, context, server,
# operators). The host exits when its stdin closes, so it never outlives the pwsh that started it.

$script:Root = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path

function Get-TestKubeHostPath {
    $config = if ($env:CONFIGURATION) { $env:CONFIGURATION } else { 'Release' }
    $dll = Join-Path $script:Root "tests/MeshFederation.TestKube.Host/bin/$config/net10.0/MeshFederation.TestKube.Host.dll"
    if (-not (Test-Path $dll)) {
        $project = Join-Path $script:Root 'tests/MeshFederation.TestKube.Host/MeshFederation.TestKube.Host.csproj'
        $null = & dotnet build $project -c $config --nologo -v quiet 2>&1
        if ($LASTEXITCODE -ne 0 -or -not (Test-Path $dll)) { throw "could not build $project ($config)" }
    }
    $dll
}

function Start-TestKube {
    [CmdletBinding()]
    param(
        # Cluster names, each optionally 'name:op1,op2' to override -Operator for it.
        [Parameter(Mandatory, Position = 0)] [string[]] $Cluster,
        [ValidateSet('ossm2', 'federation', 'sail')] [string[]] $Operator = @(),
        [string[]] $Namespace = @(),
        [string[]] $Unreachable = @(),
        [string[]] $Unauthorized = @(),
        # Operators reconcile a new control-plane generation only after this many milliseconds.
        [int] $ReadyDelayMs = 0,
        # The OSSM 2 operator holds its finalizer on a deleted SMCP this long (default: 30 ms).
        [int] $CleanupDelayMs = -1,
        [string] $Directory = (Join-Path ([System.IO.Path]::GetTempPath()) ("testkube-" + [guid]::NewGuid().ToString('n'))),
        [timespan] $Timeout = [timespan]::FromSeconds(90)
    )
    $arguments = [System.Collections.Generic.List[string]]::new()
    $arguments.Add((Get-TestKubeHostPath))
    $arguments.AddRange([string[]]@('--out', $Directory))
    if ($Operator) { $arguments.AddRange([string[]]@('--operators', ($Operator -join ','))) }
    foreach ($n in $Namespace) { $arguments.AddRange([string[]]@('--namespace', $n)) }
    foreach ($n in $Unreachable) { $arguments.AddRange([string[]]@('--unreachable', $n)) }
    foreach ($n in $Unauthorized) { $arguments.AddRange([string[]]@('--unauthorized', $n)) }
    if ($ReadyDelayMs -gt 0) { $arguments.AddRange([string[]]@('--ready-delay', "$ReadyDelayMs")) }
    if ($CleanupDelayMs -ge 0) { $arguments.AddRange([string[]]@('--cleanup-delay', "$CleanupDelayMs")) }
    $arguments.AddRange($Cluster)

    $info = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
    foreach ($a in $arguments) { $info.ArgumentList.Add($a) }
    $info.RedirectStandardInput = $true
    $info.RedirectStandardOutput = $true
    $info.RedirectStandardError = $true
    $info.UseShellExecute = $false
    $process = [System.Diagnostics.Process]::Start($info)
    $stderr = $process.StandardError.ReadToEndAsync()
    $line = $process.StandardOutput.ReadLineAsync()
    if (-not $line.Wait($Timeout) -or $null -eq $line.Result -or $line.Result -notmatch '^testkube ready (.+)$') {
        if (-not $process.HasExited) { $process.Kill() }
        $process.WaitForExit()
        throw "MeshFederation.TestKube.Host did not start: $($line.Result) $($stderr.Result)"
    }
    $described = Get-Content -Raw $Matches[1] | ConvertFrom-Json
    [pscustomobject]@{
        Process    = $process
        Directory  = $Directory
        Kubeconfig = $described.kubeconfig
        Token      = $described.token
        Clusters   = $described.clusters
        # What a pod's service account mount holds, for the first cluster (token, ca.crt, namespace).
        ServiceAccount = $described.serviceAccount
        OidcToken      = $described.oidcToken
        ExpiredOidcToken = $described.expiredOidcToken
    }
}

function Stop-TestKube {
    [CmdletBinding()]
    param([Parameter(Position = 0)] $TestKube)
    if (-not $TestKube) { return }
    $process = $TestKube.Process
    if (-not $process.HasExited) {
        $process.StandardInput.Close()
        if (-not $process.WaitForExit(15000)) { $process.Kill(); $process.WaitForExit() }
    }
    $process.Dispose()
    Remove-Item -Recurse -Force -ErrorAction Ignore $TestKube.Directory
}

Export-ModuleMember -Function Start-TestKube, Stop-TestKube
