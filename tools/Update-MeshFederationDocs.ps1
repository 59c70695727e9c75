#Requires -Version 7.4
<#
.SYNOPSIS
    Brings docs/<Cmdlet>.md in line with the compiled cmdlets: the SYNTAX section and every parameter's yaml block(s).
.DESCRIPTION
    The text (synopsis, description, examples, parameter descriptions, default values) is written by people; the
    metadata (parameter sets, type, position, required, pipeline input, aliases, wildcards) must equal what the compiled
    cmdlet declares, and tests/MeshFederation.Tests/DocsTests.cs fails when it does not. This script rewrites that
    metadata from the imported module and adds a section for each undocumented parameter (its description says TODO,
    which the tests reject until it is written). Run it after adding or changing a parameter, then describe the new ones.
.EXAMPLE
    ./tools/package.sh; ./tools/Update-MeshFederationDocs.ps1
.EXAMPLE
    ./tools/Update-MeshFederationDocs.ps1 -ModulePath ./src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1 -Name Sync-MeshFederation
#>
[CmdletBinding(SupportsShouldProcess)]
param(
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/MeshFederation/0.1.0/MeshFederation.psd1'),
    [string[]] $Name = @()
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version Latest
Import-Module $ModulePath -Force
$docs = Join-Path $PSScriptRoot '../docs'
$common = [System.Management.Automation.PSCmdlet]::CommonParameters + [System.Management.Automation.PSCmdlet]::OptionalCommonParameters

function Get-TypeName([type] $Type) {
    if ($Type.IsArray) { return (Get-TypeName $Type.GetElementType()) + '[]' }
    if ($Type.IsGenericType -and $Type.GetGenericTypeDefinition() -eq [Nullable`1]) { return Get-TypeName $Type.GetGenericArguments()[0] }
    $Type.Name
}

# The parameter's entries, one per parameter set (__AllParameterSets when declared without a set).
function Get-ParameterEntry($Command, [string] $Parameter) {
    $meta = $Command.Parameters[$Parameter]
    foreach ($set in $meta.ParameterSets.Keys) {
        $a = $meta.ParameterSets[$set]
        [pscustomobject]@{
            Set      = $set
            Required = $a.IsMandatory
            Position = if ($a.Position -ge 0) { "$($a.Position)" } else { 'Named' }
            Pipeline = if ($a.ValueFromPipeline -and $a.ValueFromPipelineByPropertyName) { 'True (ByPropertyName, ByValue)' } elseif ($a.ValueFromPipeline) { 'True (ByValue)' } elseif ($a.ValueFromPipelineByPropertyName) { 'True (ByPropertyName)' } else { 'False' }
        }
    }
}

function Get-ParameterYaml($Command, [string] $Parameter, [string] $DefaultValue) {
    $meta = $Command.Parameters[$Parameter]
    $wildcards = [bool]($meta.Attributes | Where-Object { $_ -is [System.Management.Automation.SupportsWildcardsAttribute] })
    $aliases = if ($meta.Aliases.Count) { ' ' + ($meta.Aliases -join ', ') } else { '' }
    $order = @($Command.ParameterSets.Name)
    $groups = Get-ParameterEntry $Command $Parameter | Group-Object Required, Position, Pipeline |
        Sort-Object { ($_.Group.Set | ForEach-Object { $order.IndexOf($_) } | Measure-Object -Minimum).Minimum }
    foreach ($g in $groups) {
        $sets = if ($g.Group.Set -contains '__AllParameterSets') { '(All)' } else { (@($g.Group.Set) | Sort-Object { $order.IndexOf($_) }) -join ', ' }
        $first = $g.Group[0]
        @"
``````yaml
Type: $(Get-TypeName $meta.ParameterType)
Parameter Sets: $sets
Aliases:$aliases

Required: $($first.Required)
Position: $($first.Position)
Default value: $DefaultValue
Accept pipeline input: $($first.Pipeline)
Accept wildcard characters: $wildcards
``````
"@
    }
}

# The syntax line of one set, as tests/MeshFederation.Tests/CmdletMetadata.cs Syntax() writes it.
function Get-SyntaxLine($Command, $Set) {
    $parts = [System.Collections.Generic.List[string]]@($Command.Name)
    $ps = @($Set.Parameters | Where-Object { $_.Name -notin $common -and $_.Name -notin 'WhatIf', 'Confirm' } |
            Sort-Object @{ e = { if ($_.Position -ge 0) { $_.Position } else { [int]::MaxValue } } }, @{ e = { if ($_.IsMandatory) { 0 } else { 1 } } }, @{ e = { $_.Name } } -CaseSensitive)
    foreach ($p in $ps) {
        $isSwitch = $p.ParameterType -eq [switch]
        $n = if ($p.Position -ge 0) { "[-$($p.Name)]" } else { "-$($p.Name)" }
        $text = if ($isSwitch) { "-$($p.Name)" } else { "$n <$(Get-TypeName $p.ParameterType)>" }
        $parts.Add($(if ($p.IsMandatory) { $text } else { "[$text]" }))
    }
    if ($Command.Parameters.ContainsKey('WhatIf')) { $parts.Add('[-WhatIf]'); $parts.Add('[-Confirm]') }
    $parts.Add('[<CommonParameters>]')
    $parts -join ' '
}

foreach ($command in Get-Command -Module MeshFederation | Where-Object { -not $Name -or $_.Name -in $Name }) {
    $path = Join-Path $docs "$($command.Name).md"
    $text = (Get-Content -Raw $path) -replace "`r`n", "`n"

    # SYNTAX: one block per parameter set, the default first.
    $sets = @($command.ParameterSets | Sort-Object { -not $_.IsDefault })
    $syntax = foreach ($set in $sets) {
        $title = if ($set.Name -eq '__AllParameterSets') { '__AllParameterSets' } elseif ($set.IsDefault -and $sets.Count -gt 1) { "$($set.Name) (Default)" } else { $set.Name }
        "### $title`n" + '```' + "`n$(Get-SyntaxLine $command $set)`n" + '```' + "`n"
    }
    $text = [regex]::Replace($text, '(?s)(## SYNTAX\n\n).*?(?=## DESCRIPTION\n)', { param($m) $m.Groups[1].Value + ($syntax -join "`n") + "`n" })

    # PARAMETERS: rewrite each section's yaml, keep its description and default value; add missing sections.
    if ($text -notmatch '(?s)## PARAMETERS\n\n(?<body>.*?)(?=### CommonParameters|## INPUTS)') { throw "$path has no PARAMETERS section" }
    $body = $Matches['body']
    $sections = [ordered]@{}
    foreach ($m in [regex]::Matches($body, '(?s)### -(?<name>\w+)\n(?<text>.*?)(?=### -|\z)')) { $sections[$m.Groups['name'].Value] = $m.Groups['text'].Value }
    $names = @($command.Parameters.Keys | Where-Object { $_ -notin $common -and $_ -notin 'WhatIf', 'Confirm' } | Sort-Object)
    $out = foreach ($n in $names) {
        $old = if ($sections.Contains($n)) { $sections[$n] } else { "TODO`n`n" }
        $description = ($old -split '```yaml')[0].TrimEnd() + "`n`n"
        $default = if ($old -match 'Default value: (.*)') { $Matches[1].Trim() } else { 'None' }
        "### -$n`n$description$((Get-ParameterYaml $command $n $default) -join "`n`n")`n`n"
    }
    $shouldProcess = foreach ($n in 'Confirm', 'WhatIf') {
        if (-not $command.Parameters.ContainsKey('WhatIf')) { continue }
        $old = if ($sections.Contains($n)) { $sections[$n].TrimEnd() } else {
            $(if ($n -eq 'WhatIf') { 'Shows what would happen if the cmdlet runs. The cmdlet is not run.' } else { 'Prompts you for confirmation before running the cmdlet.' }) +
            "`n`n``````yaml`nType: SwitchParameter`nParameter Sets: (All)`nAliases: $(if ($n -eq 'WhatIf') { 'wi' } else { 'cf' })`n`nRequired: False`nPosition: Named`nDefault value: False`nAccept pipeline input: False`nAccept wildcard characters: False`n``````"
        }
        "### -$n`n$old`n`n"
    }
    $new = ($out -join '') + ($shouldProcess -join '')
    $text = $text.Replace($body, $new)
    if ($PSCmdlet.ShouldProcess($path, 'Update syntax and parameter metadata')) { Set-Content -LiteralPath $path -Value $text.TrimEnd("`n") -NoNewline; Add-Content -LiteralPath $path -Value '' }
}
