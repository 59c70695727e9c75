# The examples of docs/<Cmdlet>.md and README.md, and how their documented output is compared with what they show.
# Dot-sourced by Examples.Tests.ps1 after Common.ps1.
#
# An example is a ```powershell block under "### Example N: title" (README: every powershell block). The ```output
# block after it, when there is one, is what the example shows in a console 120 columns wide: it is compared line by
# line after trailing spaces are dropped and runs of blank lines are made one. In it, "..." within a line matches any
# text, and a line of only "..." matches any number of lines (for dates, thumbprints, ports, long YAML).

function Get-DocExample {
    param([Parameter(Mandatory)] [string] $Path)
    $text = (Get-Content -Raw $Path) -replace "`r`n", "`n"
    $lines = $text -split "`n"
    $md = ConvertFrom-Markdown -InputObject $text
    $readme = (Split-Path -Leaf $Path) -eq 'README.md'
    $section = ''
    $title = $null
    $current = $null
    $n = 0
    foreach ($block in $md.Tokens) {
        if ($block -is [Markdig.Syntax.HeadingBlock]) {
            $heading = $lines[$block.Line] -replace '^#+\s*', ''
            if ($block.Level -eq 2) { $section = $heading }
            if ($block.Level -eq 3) { $title = $heading }
            if ($current) { $current; $current = $null }
            if ($readme -and $block.Level -le 2) { $title = $heading }
            continue
        }
        if ($block -isnot [Markdig.Syntax.FencedCodeBlock]) { continue }
        $code = (@($block.Lines.Lines | Select-Object -First $block.Lines.Count | ForEach-Object { $_.ToString() }) -join "`n") + "`n"
        $info = "$($block.Info)".Trim()
        if ($info -eq 'powershell' -and ($readme -or ($section -eq 'EXAMPLES' -and $title -like 'Example *'))) {
            if ($current) { $current }
            $n++
            $current = [pscustomobject]@{
                File     = [IO.Path]::GetFileName($Path)
                Title    = if ($readme) { "README block $n ($title)" } else { $title }
                Line     = $block.Line + 2
                Code     = $code
                Expected = $null
            }
        } elseif ($info -eq 'output' -and $current) {
            $current.Expected = $code
            $current
            $current = $null
        }
    }
    if ($current) { $current }
}

function ConvertTo-ComparableText {
    param([AllowEmptyString()] [string] $Text)
    $lines = ($Text -replace "`r`n", "`n" -replace '\x1b\[[0-9;]*m', '') -split "`n" | ForEach-Object { $_.TrimEnd() }
    $out = [System.Collections.Generic.List[string]]::new()
    foreach ($l in $lines) {
        if ($l -eq '' -and ($out.Count -eq 0 -or $out[-1] -eq '')) { continue }
        $out.Add($l)
    }
    while ($out.Count -gt 0 -and $out[-1] -eq '') { $out.RemoveAt($out.Count - 1) }
    , $out.ToArray()
}

# $null when $Actual is what $Expected documents, else a description of the first difference.
function Compare-ExampleOutput {
    param([AllowEmptyString()] [string] $Actual, [AllowEmptyString()] [string] $Expected)
    $a = ConvertTo-ComparableText $Actual
    $e = ConvertTo-ComparableText $Expected
    $pattern = ($e | ForEach-Object {
            if ($_ -eq '...') { '(?:[^\n]*\n)*?' }
            else { ([regex]::Escape($_) -replace '\\\.\\\.\\\.', '[^\n]*') + '\n' }
        }) -join ''
    $text = if ($a.Count) { ($a -join "`n") + "`n" } else { '' }
    if ([regex]::IsMatch($text, '\A' + $pattern + '\z')) { return $null }
    # Say where it departs: the first expected line (in order) that does not match.
    $i = 0
    foreach ($line in $e) {
        if ($line -eq '...') { continue }
        $re = '^' + ([regex]::Escape($line) -replace '\\\.\\\.\\\.', '.*') + '$'
        while ($i -lt $a.Count -and $a[$i] -notmatch $re) { $i++ }
        if ($i -ge $a.Count) { return "the documented line`n  $line`nis not in the output (in order). The output was:`n$($a -join "`n")" }
        $i++
    }
    "the output has lines the documentation does not show. The output was:`n$($a -join "`n")"
}
