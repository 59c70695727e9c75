#Requires -Version 7.4
<#
.SYNOPSIS
    Builds the MeshFederation module, assembles out/MeshFederation/<version>/, builds help, runs the tests and packages.
.DESCRIPTION
    Build    compiles the solution and assembles out/MeshFederation/<version>/ (module, engine, format and type files;
             en-US/ with the MAML help the build generates from docs/*.md and the about topic; the YAML bridge and
             YamlDotNet under Dependencies/).
    Help     regenerates en-US/MeshFederation.dll-Help.xml of the assembled module from docs/*.md (tools/HelpGen: the
             markdown's text, the compiled cmdlets' parameter metadata; PlatyPS is not needed).
    Test     runs the xunit suite and the Pester suite (Pester 5.7.1; tests/pester/Invoke-PesterSuite.ps1).
    Package  publishes the assembled module to a local repository folder as a PowerShell Gallery nupkg.
.EXAMPLE
    ./build.ps1
.EXAMPLE
    ./build.ps1 -Task Build, Test -Configuration Debug
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Help', 'Test', 'Package')]
    [string[]] $Task = @('Build', 'Help', 'Test', 'Package'),

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
$root = $PSScriptRoot
$version = ([xml](Get-Content -Raw (Join-Path $root 'Directory.Build.props'))).Project.PropertyGroup.VersionPrefix | Select-Object -First 1
$out = Join-Path $root "out/MeshFederation/$version"

function Invoke-Native([string] $Command, [string[]] $Arguments) {
    & $Command @Arguments
    if ($LASTEXITCODE -ne 0) { throw "$Command $($Arguments -join ' ') failed with exit code $LASTEXITCODE" }
}

if ('Build' -in $Task) {
    Invoke-Native dotnet @('build', (Join-Path $root 'MeshFederation.sln'), '-c', $Configuration)
    if (Test-Path $out) { Remove-Item -Recurse -Force $out }
    $publish = Join-Path $root "out/publish"
    Invoke-Native dotnet @('publish', (Join-Path $root 'src/MeshFederation/MeshFederation.csproj'), '-c', $Configuration, '-o', $publish)
    New-Item -ItemType Directory -Force -Path (Join-Path $out 'Dependencies'), (Join-Path $out 'en-US') | Out-Null
    foreach ($file in 'MeshFederation.dll', 'MeshFederation.Engine.dll', 'MeshFederation.psd1') {
        Copy-Item (Join-Path $publish $file) $out
    }
    Copy-Item (Join-Path $publish 'MeshFederation.*.ps1xml') $out
    Copy-Item (Join-Path $publish 'Dependencies/*.dll') (Join-Path $out 'Dependencies')
    Copy-Item (Join-Path $publish 'en-US/*') (Join-Path $out 'en-US')
    Remove-Item -Recurse -Force $publish
    Write-Host "Assembled $out"
}

if ('Help' -in $Task) {
    $helpGen = Join-Path $root "tools/HelpGen/bin/$Configuration/net8.0/MeshFederation.HelpGen.dll"
    if (-not (Test-Path $helpGen)) { Invoke-Native dotnet @('build', (Join-Path $root 'tools/HelpGen/MeshFederation.HelpGen.csproj'), '-c', $Configuration) }
    $sma = Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages/powershellstandard.library/5.1.1/lib/netstandard2.0/System.Management.Automation.dll'
    if ($env:NUGET_PACKAGES) { $sma = Join-Path $env:NUGET_PACKAGES 'powershellstandard.library/5.1.1/lib/netstandard2.0/System.Management.Automation.dll' }
    Invoke-Native dotnet @($helpGen, '--assembly', (Join-Path $out 'MeshFederation.dll'), '--sma', $sma, '--docs', (Join-Path $root 'docs'),
        '--out', (Join-Path $out 'en-US/MeshFederation.dll-Help.xml'))
    Write-Host "Built MAML help into $out/en-US"
}

if ('Test' -in $Task) {
    Invoke-Native dotnet @('test', (Join-Path $root 'MeshFederation.sln'), '-c', $Configuration)
    $pester = Get-Module -ListAvailable Pester | Where-Object Version -ge ([version]'5.5.0') | Sort-Object Version -Descending | Select-Object -First 1
    if (-not $pester) {
        Install-Module Pester -MinimumVersion 5.5.0 -Force -Scope CurrentUser -SkipPublisherCheck
        $pester = Get-Module -ListAvailable Pester | Sort-Object Version -Descending | Select-Object -First 1
    }
    $env:MESHFED_MODULE_PATH = Join-Path $out 'MeshFederation.psd1'
    $env:PESTER_MODULE = $pester.Path
    $env:CONFIGURATION = $Configuration
    Invoke-Native (Get-Process -Id $PID).Path @('-NoProfile', '-NonInteractive', '-File', (Join-Path $root 'tests/pester/Invoke-PesterSuite.ps1'))
}

if ('Package' -in $Task) {
    $repoPath = Join-Path $root 'out/repository'
    New-Item -ItemType Directory -Force -Path $repoPath | Out-Null
    if (-not (Get-PSResourceRepository -Name MeshFederationLocal -ErrorAction SilentlyContinue)) {
        Register-PSResourceRepository -Name MeshFederationLocal -Uri $repoPath -Trusted
    }
    Publish-PSResource -Path $out -Repository MeshFederationLocal
    Invoke-Native dotnet @('pack', (Join-Path $root 'src/MeshFederation.Cli/MeshFederation.Cli.csproj'), '-c', $Configuration, '-o', $repoPath)
    Write-Host "Packages in $repoPath"
}
