#Requires -Version 7.4
# The static PowerShell check: every .ps1/.psm1/.psd1 of the repository, every powershell block of README.md and
# docs/*.md and every pwsh step of the GitHub workflows is parsed by PowerShell's own parser; syntax errors fail; every
# command must resolve (our cmdlets from the imported module, built-ins, Pester, functions defined in the repository, or
# a known native tool), and PowerShell's static parameter binder must bind every argument of every PowerShell command
# (unknown, ambiguous or repeated parameters fail).

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    $sources = @(Get-PowerShellSource | ForEach-Object { @{ Name = $_.Name; Path = $_.Path; Line = $_.Line; Text = $_.Text } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    . (Join-Path $PSScriptRoot 'Support/StaticCheck.ps1')
    Import-MeshFederationUnderTest
    $script:RepoFunctions = Get-RepositoryFunctionName
}

Describe 'Static PowerShell check' {
    It 'covers scripts, modules, data files, README, docs and workflow steps' {
        $names = (Get-PowerShellSource).Name
        $names | Should -Contain 'MeshFederation.psd1'
        $names | Should -Contain 'build.ps1'
        ($names -like 'README.md:*').Count | Should -BeGreaterOrEqual 2
        ($names -like 'docs*:*').Count | Should -BeGreaterOrEqual 34
        ($names -like 'examples*.ps1').Count | Should -BeGreaterOrEqual 6
        ($names -like '*#pwsh-step*').Count | Should -BeGreaterOrEqual 1
    }

    It '<Name> parses, and its commands and parameters bind' -ForEach $sources {
        $problems = @(Get-StaticProblem -Name $Name -Path $Path -Line $Line -Text $Text -KnownFunction $RepoFunctions)
        $problems -join "`n" | Should -BeNullOrEmpty
    }

    It 'fails on what PowerShell would reject: <Code>' -ForEach @(
        @{ Code = 'New-MeshPeer -Control $x'; Ok = $true }            # unambiguous prefix of -ControlPlane
        @{ Code = 'New-MeshPeer -Bogus 1'; Ok = $false }              # no such parameter
        @{ Code = 'New-MeshControlPlane -N x'; Ok = $false }          # ambiguous: Name, Namespace, NodeAddress, NodePortBase
        @{ Code = 'New-MeshControlPlane -Member a'; Ok = $true }      # alias
        @{ Code = 'Export-MeshManifest -Path x -WhatIf'; Ok = $true } # ShouldProcess
        @{ Code = 'New-MeshPeer -WhatIf'; Ok = $false }               # no ShouldProcess
        @{ Code = 'New-MeshPeer -DiscoveryPort 1 -DiscoveryPort 2'; Ok = $false } # bound twice
        @{ Code = 'Get-Frobnicator'; Ok = $false }                    # unknown command
        @{ Code = 'Get-Item -Path ('; Ok = $false }                   # syntax error
        @{ Code = 'Get-ChildItem -Filt *.yaml | Where-Object Name -like x*'; Ok = $true }
        @{ Code = 'function Get-Local { } ; Get-Local -Anything 1'; Ok = $true } # functions defined in the source
        @{ Code = 'Get-ChildItem -Fil *.yaml'; Ok = $false }          # ambiguous: Filter, File
        @{ Code = 'Get-ChildItem ./examples -Directory'; Ok = $true } # a FileSystem provider's dynamic parameter
        @{ Code = 'Get-ChildItem ./examples -Directry'; Ok = $false } # and a misspelt one
        @{ Code = 'New-MeshPeer a b c'; Ok = $false }                 # too many positional arguments
        @{ Code = '$p | Export-MeshService -Namespace x'; Ok = $true } # the peering comes from the pipeline
        @{ Code = '$p = @{ Name = "x" }; New-MeshControlPlane @p'; Ok = $true } # splatting
        @{ Code = '$p = @{ Name = "x" }; New-MeshControlPlane @p -Bogus 1'; Ok = $false } # still checks the rest
        @{ Code = 'kubectl get pods --context blue'; Ok = $true }     # native tool on PATH
    ) {
        $problems = @(Get-StaticProblem -Name probe -Text $Code -KnownFunction @())
        ($problems.Count -eq 0) | Should -Be $Ok -Because ($problems -join '; ')
    }
}
