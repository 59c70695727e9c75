#Requires -Version 7.4
# The PowerShell Gallery package (out/packages/MeshFederation.<version>.nupkg, made by tools/package.sh) as a user gets
# it: saved with PSResourceGet from a repository holding it, imported by name from PSModulePath in a new pwsh, with its
# help (Get-Help -Examples for every cmdlet, -Online links) and its YAML library isolated from another module's.

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    $version = (Import-PowerShellDataFile (Join-Path $RepoRoot 'MeshFederation.psd1')).ModuleVersion
    $packages = Join-Path $RepoRoot 'out/packages'
    $repository = 'MeshFederationPester' + [guid]::NewGuid().ToString('n').Substring(0, 8)
    $modules = New-Item -ItemType Directory (Join-Path $TestDrive 'modules')
    Register-PSResourceRepository -Name $repository -Uri $packages -Trusted
    try {
        Save-PSResource -Name MeshFederation -Version $version -Repository $repository -Path $modules -TrustRepository -Quiet
    } finally {
        Unregister-PSResourceRepository -Name $repository
    }
    $installed = Join-Path $modules "MeshFederation/$version"
}

Describe 'The Gallery package' {
    It 'installs with PSResourceGet with the module, its help, its views and its dependencies' {
        foreach ($f in 'MeshFederation.psd1', 'MeshFederation.dll', 'MeshFederation.Engine.dll', 'MeshFederation.format.ps1xml', 'MeshFederation.types.ps1xml',
            'en-US/MeshFederation.dll-Help.xml', 'en-US/about_MeshFederation.help.txt', 'Dependencies/MeshFederation.Yaml.dll', 'Dependencies/YamlDotNet.dll') {
            Join-Path $installed $f | Should -Exist
        }
    }

    It 'imports by name in a new session and Get-Help -Examples works for every cmdlet' {
        $script = @'
Import-Module MeshFederation -ErrorAction Stop
Import-Module MeshFederation -Force -ErrorAction Stop
(Get-Module MeshFederation).ModuleBase
foreach ($c in Get-Command -Module MeshFederation) {
    $examples = @((Get-Help $c.Name -Examples).examples.example)
    '{0} {1} {2}' -f $c.Name, $examples.Count, ((Get-Help $c.Name -Full).relatedLinks.navigationLink | Where-Object uri | Select-Object -First 1).uri
}
'@
        $r = Invoke-PwshProcess -Script $script -NoImport -Environment @{ PSModulePath = "$modules$([IO.Path]::PathSeparator)$env:PSModulePath" }
        $r.Error | Should -BeNullOrEmpty
        $lines = $r.Output -split "`n" | Where-Object { $_.Trim() }
        $lines[0].Trim() | Should -Be $installed
        $rows = $lines | Select-Object -Skip 1
        $rows.Count | Should -Be @(Get-Command -Module MeshFederation).Count
        foreach ($row in $rows) {
            $name, $count, $uri = $row.Trim() -split ' '
            [int]$count | Should -BeGreaterOrEqual 2 -Because "$name needs at least two examples"
            $uri | Should -Be "https://github.com/meshfederation/MeshFederation/blob/main/docs/$name.md"
        }
    }

    It 'keeps its YamlDotNet apart from another module''s YamlDotNet' {
        # Another module (here a stand-in) has loaded a different YamlDotNet into the default load context first.
        $other = Join-Path $TestDrive 'other'
        $null = New-Item -ItemType Directory $other
        # test.sh restores YamlDotNet 18.1.0 (tools/pester/PesterRestore.csproj) into the NuGet folder it uses.
        $nuget = if ($env:NUGET_PACKAGES) { $env:NUGET_PACKAGES } else { Join-Path $HOME '.nuget/packages' }
        $yaml = Get-Item (Join-Path $nuget 'yamldotnet/18.1.0') -ErrorAction SilentlyContinue
        $yaml | Should -Not -BeNullOrEmpty -Because "test.sh restores YamlDotNet 18.1.0 into $nuget (tools/pester/PesterRestore.csproj)"
        $dll = Get-ChildItem -Recurse (Join-Path $yaml.FullName 'lib') -Filter YamlDotNet.dll | Where-Object { $_.Directory.Name -like 'net*' } | Select-Object -First 1
        $script = @"
Add-Type -Path '$($dll.FullName)'
Import-Module MeshFederation -ErrorAction Stop
`$objects = Import-MeshTopology -Path '$((Join-Path $ExamplesDir 'seed-001-blue-green.yaml'))'
`$objects.Count
[System.Runtime.Loader.AssemblyLoadContext]::Default.Assemblies | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' } | ForEach-Object { `$_.GetName().Version.ToString() }
([System.Runtime.Loader.AssemblyLoadContext]::All | Where-Object Name -eq 'MeshFederation.Dependencies').Assemblies | Where-Object { `$_.GetName().Name -eq 'YamlDotNet' } | ForEach-Object { `$_.GetName().Version.ToString() }
"@
        $r = Invoke-PwshProcess -Script $script -NoImport -Environment @{ PSModulePath = "$modules$([IO.Path]::PathSeparator)$env:PSModulePath" }
        $r.Error | Should -BeNullOrEmpty
        $out = $r.Output -split "`n" | Where-Object { $_.Trim() } | ForEach-Object Trim
        [int]$out[0] | Should -Be 7
        $out[1] | Should -Not -Be $out[2] -Because 'two YamlDotNet versions live side by side'
    }
}
