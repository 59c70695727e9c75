#Requires -Version 7.4
<#
.SYNOPSIS
    Builds the MeshFederation module, assembles out/MeshFederation/<version>/, builds help, runs the tests and packages.
.DESCRIPTION
    Build    compiles the solution and assembles out/MeshFederation/<version>/ (module, engine, format and about files;
             the YAML bridge and YamlDotNet under Dependencies/).
    Help     compiles docs/*.md into MAML help (en-US/MeshFederation.dll-Help.xml) with PlatyPS, when installed.
    Test     runs the xunit suite and the Pester suite.
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
    foreach ($file in 'MeshFederation.dll', 'MeshFederation.Engine.dll', 'MeshFederation.psd1', 'MeshFederation.format.ps1xml') {
        Copy-Item (Join-Path $publish $file) $out
    }
    Copy-Item (Join-Path $publish 'Dependencies/*.dll') (Join-Path $out 'Dependencies')
    Copy-Item (Join-Path $root 'module/en-US/*') (Join-Path $out 'en-US')
    Remove-Item -Recurse -Force $publish
    Write-Host "Assembled $out"
}

if ('Help' -in $Task) {
    if (Get-Module -ListAvailable -Name platyPS) {
        Import-Module platyPS
        New-ExternalHelp -Path (Join-Path $root 'docs') -OutputPath (Join-Path $out 'en-US') -Force | Out-Null
        Write-Host "Built MAML help into $out/en-US"
    } else {
        Write-Warning 'PlatyPS is not installed (Install-Module platyPS); skipping MAML help. docs/*.md stays the source.'
    }
}

if ('Test' -in $Task) {
    Invoke-Native dotnet @('test', (Join-Path $root 'MeshFederation.sln'), '-c', $Configuration)
    if (-not (Get-Module -ListAvailable Pester | Where-Object Version -ge ([version]'5.5.0'))) {
        Install-Module Pester -MinimumVersion 5.5.0 -Force -Scope CurrentUser -SkipPublisherCheck
    }
    $env:MESHFED_MODULE_PATH = Join-Path $out 'MeshFederation.psd1'
    $config = New-PesterConfiguration
    $config.Run.Path = Join-Path $root 'tests/pester'
    $config.Run.Exit = $true
    $config.Output.Verbosity = 'Detailed'
    Invoke-Pester -Configuration $config
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
