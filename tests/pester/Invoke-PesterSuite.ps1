#Requires -Version 7.4
# Runs the Pester suite (tests/pester) against the assembled module; test.sh calls it with the Pester module it restored
# from NuGet ($env:PESTER_MODULE) and the module manifest to test ($env:MESHFED_MODULE_PATH). The last line it prints is
# "pester-counts <passed> <failed>"; its exit code is the number of failed tests (capped at 255), or 1 when none ran.
$ErrorActionPreference = 'Stop'
$PSStyle.OutputRendering = 'PlainText'
if (-not $env:PESTER_MODULE) { throw 'PESTER_MODULE is not set: give the path of Pester.psd1 (5.7.1)' }
Import-Module $env:PESTER_MODULE -Force
$config = New-PesterConfiguration
$config.Run.Path = $PSScriptRoot
$config.Run.PassThru = $true
$config.Output.Verbosity = 'Detailed'
if ($env:PESTER_RESULTS) {
    $config.TestResult.Enabled = $true
    $config.TestResult.OutputFormat = 'NUnitXml'
    $config.TestResult.OutputPath = Join-Path $env:PESTER_RESULTS 'pester.xml'
}
$result = Invoke-Pester -Configuration $config
# CI shows only the tail of the log: repeat every failure (test, block or file) with its error just before the counts.
$failures = @($result.Failed) + @($result.FailedBlocks) + @($result.FailedContainers)
if ($failures.Count -gt 0) {
    "pester-failures: $($failures.Count)"
    foreach ($f in $failures) {
        $name = if ($f.ExpandedPath) { $f.ExpandedPath } elseif ($f.Path) { $f.Path -join ' ' } else { [string]$f.Item }
        $file = if ($f.ScriptBlock -and $f.ScriptBlock.File) { '{0}:{1}' -f (Split-Path -Leaf $f.ScriptBlock.File), $f.ScriptBlock.StartPosition.StartLine } else { '' }
        "  [-] $name $file"
        foreach ($e in @($f.ErrorRecord)) {
            if ($null -eq $e) { continue }
            $text = [string]$e.Exception.Message
            if ($text.Length -gt 2000) { $text = $text.Substring(0, 2000) + ' ...' }
            ($text -split "`n" | ForEach-Object { "      $_" }) -join "`n"
            if ($e.ScriptStackTrace) { ($e.ScriptStackTrace -split "`n" | Where-Object { $_ -notmatch 'Pester\.psm1' } | Select-Object -First 3 | ForEach-Object { "      $_" }) -join "`n" }
        }
    }
}
'pester-counts {0} {1}' -f $result.PassedCount, ($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
if ($result.TotalCount -eq 0) { exit 1 }
exit [Math]::Min(255, $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
