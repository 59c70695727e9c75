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
'pester-counts {0} {1}' -f $result.PassedCount, ($result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
if ($result.TotalCount -eq 0) { exit 1 }
exit [Math]::Min(255, $result.FailedCount + $result.FailedBlocksCount + $result.FailedContainersCount)
