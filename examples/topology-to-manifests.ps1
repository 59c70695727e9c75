#Requires -Version 7.4
#Requires -Modules MeshFederation
<# .SYNOPSIS Render every example topology: Import-MeshTopology emits the objects, Export-MeshManifest writes them. #>
param([string] $OutputPath = (Join-Path $PSScriptRoot 'rendered'))

Get-ChildItem -Path $PSScriptRoot -Filter 'seed-*.yaml' | ForEach-Object {
    Import-MeshTopology -Path $_.FullName | Export-MeshManifest -Path (Join-Path $OutputPath $_.BaseName)
}
Import-MeshTopology -Path (Join-Path $PSScriptRoot 'seed-001-blue-green.yaml') | Test-MeshFederation
