# Dot-sourced by every *.Tests.ps1 (in BeforeAll and BeforeDiscovery): the repository root, the module under test
# ($env:MESHFED_MODULE_PATH, set by test.sh to the assembled module) and small helpers shared by the suite.
$RepoRoot = (Resolve-Path (Join-Path $PSScriptRoot '../../..')).Path
$ModulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
    Join-Path $RepoRoot "out/MeshFederation/$(([xml](Get-Content -Raw (Join-Path $RepoRoot 'Directory.Build.props'))).Project.PropertyGroup.VersionPrefix | Select-Object -First 1)/MeshFederation.psd1"
}
$ExamplesDir = Join-Path $RepoRoot 'examples'
$DocsDir = Join-Path $RepoRoot 'docs'

function Import-MeshFederationUnderTest {
    if (-not (Get-Module MeshFederation)) { Import-Module $ModulePath -Force -ErrorAction Stop }
}

# The PowerShell sources of the repository: every .ps1/.psm1/.psd1, every powershell block of README.md and docs/*.md
# (with the line it starts on), and every pwsh step of the GitHub workflows.
function Get-PowerShellSource {
    $skip = '[\\/](bin|obj|out|\.tools|node_modules|TestResults|rendered|\.git)[\\/]'
    Get-ChildItem -Path $RepoRoot -Recurse -File -Include *.ps1, *.psm1, *.psd1 |
        Where-Object { $_.FullName.Substring($RepoRoot.Length) -notmatch $skip } |
        Sort-Object FullName |
        ForEach-Object {
            [pscustomobject]@{ Name = [IO.Path]::GetRelativePath($RepoRoot, $_.FullName); Path = $_.FullName; Line = 1; Text = Get-Content -Raw $_.FullName }
        }
    foreach ($md in @(Get-Item (Join-Path $RepoRoot 'README.md')) + @(Get-ChildItem $DocsDir -Filter *.md | Sort-Object Name)) {
        foreach ($block in Get-MarkdownCodeBlock -Path $md.FullName -Language powershell) {
            [pscustomobject]@{ Name = '{0}:{1}' -f [IO.Path]::GetRelativePath($RepoRoot, $md.FullName), $block.Line; Path = $md.FullName; Line = $block.Line; Text = $block.Code }
        }
    }
    foreach ($wf in Get-ChildItem (Join-Path $RepoRoot '.github/workflows') -Filter *.yml -ErrorAction Ignore) {
        $i = 0
        foreach ($step in Get-WorkflowPwshStep -Path $wf.FullName) {
            $i++
            [pscustomobject]@{ Name = '{0}#pwsh-step{1}' -f [IO.Path]::GetRelativePath($RepoRoot, $wf.FullName), $i; Path = $wf.FullName; Line = 1; Text = $step }
        }
    }
}

# Fenced code blocks of a markdown file with their language and first code line, read with Markdig (ConvertFrom-Markdown).
function Get-MarkdownCodeBlock {
    param([Parameter(Mandatory)] [string] $Path, [string[]] $Language)
    $text = Get-Content -Raw $Path
    $md = ConvertFrom-Markdown -InputObject $text
    foreach ($b in [Markdig.Syntax.MarkdownObjectExtensions]::Descendants[Markdig.Syntax.FencedCodeBlock]($md.Tokens)) {
        $info = "$($b.Info)".Trim()
        if ($Language -and $info -notin $Language) { continue }
        [pscustomobject]@{ Language = $info; Line = $b.Line + 2; Code = (($b.Lines.Lines | Select-Object -First $b.Lines.Count | ForEach-Object { $_.ToString() }) -join "`n") + "`n"; Block = $b }
    }
}

# The run scripts of steps whose shell is pwsh (the workflow's default shell counts); ${{ }} expressions become 'expr'.
function Get-WorkflowPwshStep {
    param([Parameter(Mandatory)] [string] $Path)
    $json = [MeshFederation.Infrastructure.ModuleYaml]::Bridge.Parse((Get-Content -Raw $Path), $Path)[0].ToJson().ToJsonString()
    $doc = $json | ConvertFrom-Json -AsHashtable
    $default = if ($doc.defaults -and $doc.defaults.run) { $doc.defaults.run.shell }
    foreach ($job in $doc.jobs.Values) {
        $shell = if ($job.defaults -and $job.defaults.run -and $job.defaults.run.shell) { $job.defaults.run.shell } else { $default }
        foreach ($step in $job.steps) {
            $stepShell = if ($step.shell) { $step.shell } else { $shell }
            if ($step.run -and $stepShell -eq 'pwsh') { $step.run -replace '\$\{\{[^}]*\}\}', 'expr' }
        }
    }
}

# Runs a script in a new pwsh process with the module imported, from $WorkingDirectory; returns what a user sees:
# stdout and stderr (formatted output, What if lines, warnings, errors), plain text at the given width.
function Invoke-PwshProcess {
    param([Parameter(Mandatory)] [string] $Script, [string] $WorkingDirectory = (Get-Location).Path, [hashtable] $Environment = @{}, [int] $Width = 120, [switch] $NoImport)
    $prelude = @"
`$ErrorActionPreference = 'Continue'
`$PSStyle.OutputRendering = 'PlainText'
`$ProgressPreference = 'SilentlyContinue'
"@
    if (-not $NoImport) { $prelude += "`nImport-Module '$($ModulePath -replace "'", "''")' -ErrorAction Stop" }
    $file = Join-Path ([IO.Path]::GetTempPath()) ("meshfed-pester-" + [guid]::NewGuid().ToString('n') + '.ps1')
    Set-Content -LiteralPath $file -Value ($prelude + "`n" + $Script)
    try {
        # This pwsh: its own executable, or (installed as a dotnet tool) pwsh.dll run by dotnet.
        $exe = @('pwsh', 'pwsh.exe') | ForEach-Object { Join-Path $PSHOME $_ } | Where-Object { Test-Path $_ } | Select-Object -First 1
        $info = if ($exe) { [System.Diagnostics.ProcessStartInfo]::new($exe) } else {
            $i = [System.Diagnostics.ProcessStartInfo]::new('dotnet')
            $i.ArgumentList.Add((Join-Path $PSHOME 'pwsh.dll'))
            $i
        }
        foreach ($a in '-NoProfile', '-NonInteractive', '-File', $file) { $info.ArgumentList.Add($a) }
        $info.WorkingDirectory = $WorkingDirectory
        $info.RedirectStandardOutput = $true
        $info.RedirectStandardError = $true
        $info.UseShellExecute = $false
        $info.Environment['COLUMNS'] = "$Width"
        $info.Environment['NO_COLOR'] = '1'
        foreach ($k in $Environment.Keys) { $info.Environment[$k] = $Environment[$k] }
        $p = [System.Diagnostics.Process]::Start($info)
        $err = $p.StandardError.ReadToEndAsync()
        $out = $p.StandardOutput.ReadToEnd()
        $p.WaitForExit()
        [pscustomobject]@{ ExitCode = $p.ExitCode; Output = $out; Error = $err.Result }
    } finally {
        Remove-Item -LiteralPath $file -ErrorAction Ignore
    }
}

# A runspace on a recording host (Support/RecordingHost.cs) with the module imported, at $WorkingDirectory: what an
# interactive console user would see at $Width columns is recorded, prompts are answered from $Answers, then
# $DefaultAnswer. Invoke-RecordingSession runs code in it (dot-sourced: variables stay for the next call).
function New-RecordingSession {
    param(
        [string] $WorkingDirectory = (Get-Location).Path,
        [string[]] $Answers = @(),
        [string] $DefaultAnswer = 'No',
        [int] $Width = 120,
        [hashtable] $Variables = @{}
    )
    if (-not ('MeshFederation.PesterSupport.RecordingHost' -as [type])) {
        Add-Type -TypeDefinition (Get-Content -Raw (Join-Path $PSScriptRoot 'RecordingHost.cs'))
    }
    $h = [MeshFederation.PesterSupport.RecordingHost]::new($Width)
    foreach ($a in $Answers) { $h.Recorder.Answers.Enqueue($a) }
    $h.Recorder.DefaultAnswer = $DefaultAnswer
    $rs = [runspacefactory]::CreateRunspace($h)
    $rs.Open()
    foreach ($k in $Variables.Keys) { $rs.SessionStateProxy.SetVariable($k, $Variables[$k]) }
    $session = [pscustomobject]@{ Host = $h; Runspace = $rs }
    $prelude = "`$PSStyle.OutputRendering = 'PlainText'; `$ProgressPreference = 'Continue'; Set-Location -LiteralPath '$($WorkingDirectory -replace "'", "''")'; Import-Module '$($ModulePath -replace "'", "''")' -ErrorAction Stop"
    $null = Invoke-RecordingSession $session $prelude
    $session
}

function Invoke-RecordingSession {
    param([Parameter(Mandatory, Position = 0)] $Session, [Parameter(Mandatory, Position = 1)] [string] $Script)
    $recorder = $Session.Host.Recorder
    $textStart = $recorder.Text.Length
    $promptStart = $recorder.Prompts.Count
    $progressStart = $recorder.Progress.Count
    $ps = [powershell]::Create()
    try {
        $ps.Runspace = $Session.Runspace
        # As at a console prompt, each top-level statement runs and is formatted (Out-Default) before the next one.
        # Errors, warnings, verbose and debug records are shown as a console shows them; information records (hidden by
        # default in a console) are not merged in.
        $ast = [System.Management.Automation.Language.Parser]::ParseInput($Script, [ref]$null, [ref]$null)
        $statements = @($ast.EndBlock.Statements | ForEach-Object { $_.Extent.Text })
        if ($ast.ParamBlock -or $ast.BeginBlock -or $ast.ProcessBlock -or $statements.Count -eq 0) { $statements = @($Script) }
        $null = $ps.AddScript("`$PSStyle.OutputRendering = 'PlainText'; `$global:__meshfedOutput = [System.Collections.Generic.List[object]]::new()")
        $null = $ps.Invoke()
        foreach ($statement in $statements) {
            $ps.Commands.Clear()
            $null = $ps.AddScript(". {`n$statement`n} 2>&1 3>&1 4>&1 5>&1 | ForEach-Object { `$global:__meshfedOutput.Add(`$_); `$_ } | Out-Default")
            $null = $ps.Invoke()
        }
        $output = @($Session.Runspace.SessionStateProxy.GetVariable('__meshfedOutput'))
        $records = [System.Management.Automation.ErrorRecord], [System.Management.Automation.WarningRecord], [System.Management.Automation.VerboseRecord],
            [System.Management.Automation.InformationRecord], [System.Management.Automation.DebugRecord]
        [pscustomobject]@{
            Text     = $recorder.Text.Substring($textStart)
            Output   = @($output | Where-Object { $o = $_; $null -ne $o -and -not ($records | Where-Object { $o -is $_ }) })
            Errors   = @($output | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }) + @($ps.Streams.Error)
            Warnings = @($output | Where-Object { $_ -is [System.Management.Automation.WarningRecord] } | ForEach-Object Message)
            Verbose  = @($output | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object Message)
            Prompts  = @($recorder.Prompts | Select-Object -Skip $promptStart)
            Progress = @($recorder.Progress | Select-Object -Skip $progressStart)
        }
    } finally {
        $ps.Dispose()
    }
}

function Close-RecordingSession {
    param([Parameter(Position = 0)] $Session)
    if ($Session) { $Session.Runspace.Dispose() }
}

# Runs code once in a new recording session (see New-RecordingSession) and returns what it showed and emitted.
function Invoke-InHost {
    param(
        [Parameter(Mandatory)] [string] $Script,
        [string] $WorkingDirectory = (Get-Location).Path,
        [string[]] $Answers = @(),
        [string] $DefaultAnswer = 'No',
        [int] $Width = 120,
        [hashtable] $Variables = @{}
    )
    $session = New-RecordingSession -WorkingDirectory $WorkingDirectory -Answers $Answers -DefaultAnswer $DefaultAnswer -Width $Width -Variables $Variables
    try {
        Invoke-RecordingSession $session $Script
    } finally {
        Close-RecordingSession $session
    }
}
