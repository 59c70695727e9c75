#Requires -Version 7.4
# The shipped help (en-US/MeshFederation.dll-Help.xml, generated at build from docs/*.md and the compiled cmdlets), read
# the way users read it: Get-Help -Full, -Examples, -Parameter, and the online links.

BeforeDiscovery {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    $cmdlets = @(Get-Command -Module MeshFederation | ForEach-Object { @{ Name = $_.Name } })
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'Support/Common.ps1')
    Import-MeshFederationUnderTest
    $moduleBase = (Get-Module MeshFederation).ModuleBase
}

Describe 'Shipped help' {
    It 'ships MAML help and the about topic in en-US beside the module' {
        Join-Path $moduleBase 'en-US/MeshFederation.dll-Help.xml' | Should -Exist
        Join-Path $moduleBase 'en-US/about_MeshFederation.help.txt' | Should -Exist
        (Get-Module MeshFederation).HelpInfoUri | Should -Match '^https://'
        (Get-Help about_MeshFederation | Out-String) | Should -Match 'about_MeshFederation'
    }

    Context '<Name>' -ForEach $cmdlets {
        BeforeAll {
            $command = Get-Command $Name
            $help = Get-Help $Name -Full
            $page = Get-Content -Raw (Join-Path $DocsDir "$Name.md")
        }

        It 'has a synopsis from its page, not the syntax line, and a description' {
            $synopsis = "$($help.Synopsis)".Trim()
            $synopsis | Should -Not -BeNullOrEmpty
            $synopsis | Should -Not -Match ([regex]::Escape($Name) + '\s+\[')
            $page | Should -Match ([regex]::Escape(($synopsis -split "`n")[0]))
            ($help.description.Text -join ' ').Length | Should -BeGreaterThan 40
        }

        It 'describes every parameter and says what binds' {
            $names = $command.Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters }
            $documented = @($help.parameters.parameter)
            foreach ($n in $names) {
                $p = $documented | Where-Object name -eq $n
                $p | Should -Not -BeNullOrEmpty -Because "-$n of $Name must be in its help"
                ($p.description.Text -join ' ').Length | Should -BeGreaterThan 10 -Because "-$n of $Name needs a description"
                $meta = $command.Parameters[$n]
                $p.required | Should -Be ([string](@($meta.ParameterSets.Values | Where-Object { -not $_.IsMandatory }).Count -eq 0)).ToLowerInvariant() -Because "-$n Required"
                $aliases = if ($meta.Aliases.Count) { $meta.Aliases -join ', ' } else { 'none' }
                $p.aliases | Should -Be $aliases -Because "-$n Aliases"
            }
            if ($command.Parameters.ContainsKey('WhatIf')) { $documented.name | Should -Contain 'WhatIf' }
        }

        It 'shows the syntax of every parameter set' {
            $syntax = @($help.syntax.syntaxItem)
            $syntax.Count | Should -Be @($command.ParameterSets).Count
            $common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters
            $shown = $syntax | ForEach-Object { (@($_.parameter.name) | Sort-Object) -join ',' }
            foreach ($set in $command.ParameterSets) {
                $names = @($set.Parameters.Name | Where-Object { $_ -notin $common })
                if ($command.Parameters.ContainsKey('WhatIf')) { $names += 'WhatIf', 'Confirm' }
                $shown | Should -Contain ((@($names) | Sort-Object -Unique) -join ',') -Because "parameter set $($set.Name) of $Name must have a syntax item"
            }
        }

        It 'has at least two examples with code and remarks' {
            $examples = @((Get-Help $Name -Examples).examples.example)
            $examples.Count | Should -BeGreaterOrEqual 2
            foreach ($e in $examples) {
                $e.code | Should -Match ([regex]::Escape($Name))
                ($e.remarks.Text -join ' ').Trim() | Should -Not -BeNullOrEmpty
            }
        }

        It 'answers -Parameter for each parameter' {
            foreach ($n in @($command.Parameters.Keys | Where-Object { $_ -notin [System.Management.Automation.PSCmdlet]::CommonParameters -and $_ -notin [System.Management.Automation.PSCmdlet]::OptionalCommonParameters })) {
                $p = Get-Help $Name -Parameter $n
                $p.name | Should -Be $n
                ($p | Out-String) | Should -Match 'Required\?'
            }
        }

        It 'links online to its page, the same as its HelpUri' {
            $online = @($help.relatedLinks.navigationLink | Where-Object uri)[0].uri
            $online | Should -Be $command.HelpUri
            $online | Should -BeLike "https://*/docs/$Name.md"
            $page | Should -Match ("online version: " + [regex]::Escape($online))
        }
    }
}
