#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.5.0' }
# Issue 14 through the cmdlets, in this one pwsh session: the malformed-input corpus (tests/corpus) gives ErrorRecords
# of the right category and never a terminating error; writers write nothing on bad or missing input; the cmdlet cases
# of the issue (self-export, empty label selector, unknown -Cluster, a hashtable piped to New-MeshPeer).

BeforeAll {
    $modulePath = if ($env:MESHFED_MODULE_PATH) { $env:MESHFED_MODULE_PATH } else {
        Join-Path $PSScriptRoot '../../src/MeshFederation/bin/Release/net8.0/MeshFederation.psd1'
    }
    Import-Module $modulePath -Force
    $examples = Join-Path $PSScriptRoot '../../examples'
    $corpus = Join-Path $PSScriptRoot '../corpus'
    $categories = @{
        InvalidArgument = 'InvalidArgument'; Conflict = 'ResourceExists'; InvalidData = 'InvalidData'; NotFound = 'ObjectNotFound'; Io = 'WriteError'
    }

    function Get-CorpusCase {
        foreach ($file in Get-ChildItem -Path $corpus -Recurse -File -Filter '*.yaml' | Sort-Object FullName) {
            $head = Get-Content -LiteralPath $file.FullName -TotalCount 5
            $get = { param($key) ($head | Where-Object { $_ -like "# expect-${key}: *" }) -replace "^# expect-${key}: ", '' }
            $value = & $get 'value'
            [pscustomobject]@{
                Name  = $file.Name
                Path  = $file.FullName
                Field = & $get 'field'
                Value = if ($value -eq '-') { $null } elseif ($value -eq '(path)') { $file.FullName } else { $value }
                Line  = if ((& $get 'line') -eq '-') { $null } else { [int](& $get 'line') }
                Kind  = & $get 'kind'
            }
        }
    }

    function Get-Hash([string] $Path) {
        [Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData([System.IO.File]::ReadAllBytes($Path)))
    }

    function Get-Snapshot([string] $Dir) {
        if (-not (Test-Path -LiteralPath $Dir)) { return @{} }
        $h = @{}
        foreach ($f in Get-ChildItem -LiteralPath $Dir -Recurse -File -Force) { $h[$f.FullName] = Get-Hash $f.FullName }
        $h
    }
}

Describe 'The malformed-input corpus through the cmdlets' {
    It 'refuses every case with an ErrorRecord of the right category naming field, value and file:line, writes nothing, within 10 s' {
        $cases = @(Get-CorpusCase)
        $cases.Count | Should -BeGreaterOrEqual 300
        $process = [System.Diagnostics.Process]::GetCurrentProcess()
        $process.Refresh()
        $startPeak = $process.PeakWorkingSet64
        $failures = [System.Collections.Generic.List[string]]::new()
        foreach ($c in $cases) {
            $out = Join-Path $TestDrive ('out-' + $c.Name)
            $err = $null
            $watch = [System.Diagnostics.Stopwatch]::StartNew()
            try {
                Import-MeshTopology -Path $c.Path -ErrorVariable +err -ErrorAction SilentlyContinue |
                    Export-MeshManifest -Path $out -ErrorVariable +err -ErrorAction SilentlyContinue
            }
            catch {
                $failures.Add("$($c.Name): terminating error $($_.FullyQualifiedErrorId): $($_.Exception.Message)")
                continue
            }
            $watch.Stop()
            if ($watch.Elapsed.TotalSeconds -ge 10) { $failures.Add("$($c.Name): took $($watch.Elapsed.TotalSeconds) s") }
            if (Test-Path -LiteralPath $out) { $failures.Add("$($c.Name): wrote $out") }
            $records = @($err | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
            if ($records.Count -eq 0) { $failures.Add("$($c.Name): no error"); continue }
            $wanted = $categories[$c.Kind]
            $match = $records | Where-Object {
                $text = if ($_.ErrorDetails) { $_.ErrorDetails.Message } else { $_.Exception.Message }
                $_.FullyQualifiedErrorId -like 'MeshFederation.*' -and
                $_.CategoryInfo.Category -eq $wanted -and
                $text.Contains($c.Field) -and
                ($null -eq $c.Value -or $text.Contains("'$($c.Value)'")) -and
                ($null -eq $c.Line -or $text.Contains("$($c.Path):$($c.Line):"))
            }
            if (-not $match) {
                $seen = ($records | ForEach-Object { "[$($_.CategoryInfo.Category)] $(if ($_.ErrorDetails) { $_.ErrorDetails.Message } else { $_.Exception.Message })" }) -join "`n    "
                $failures.Add("$($c.Name): no $wanted error naming '$($c.Field)' = '$($c.Value)' at line $($c.Line); got:`n    $seen")
            }
        }
        $process.Refresh()
        $grown = ($process.PeakWorkingSet64 - $startPeak) / 1048576
        $grown | Should -BeLessThan 500 -Because 'the corpus must not take the session past 500 MB more than it started with'
        ($failures | Select-Object -First 15) -join "`n" | Should -BeNullOrEmpty -Because "$($failures.Count) of $($cases.Count) cases failed"
    }

    It 'refuses a FIFO, a folder and a binary file as topologies without blocking the session' {
        $fifo = Join-Path $TestDrive 'topology.yaml'
        bash -c "mkfifo '$fifo'"
        $err = $null
        Import-MeshTopology -Path $fifo -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].Exception.Message | Should -Match 'FIFO'
        Import-MeshTopology -Path $TestDrive -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].Exception.Message | Should -Match 'is a folder, not a file'
    }
}

Describe 'Writers on bad or missing input' {
    BeforeAll {
        $good = Join-Path $examples 'seed-001-blue-green.yaml'
        $bad = Join-Path $TestDrive 'bad.yaml'
        (Get-Content -Raw $good) -replace 'members: \[nfs-app-istio\]', 'members: [nfs-app-istio' | Set-Content -NoNewline $bad
    }

    It 'keeps a good set when the topology upstream is bad (it wrote an empty SUMMARY.md over it)' {
        $out = Join-Path $TestDrive 'out1'
        Import-MeshTopology -Path $good | Export-MeshManifest -Path $out -WarningAction SilentlyContinue
        $before = Get-Snapshot $out
        $before.Count | Should -BeGreaterThan 2
        $err = $null
        Import-MeshTopology -Path $bad -ErrorAction SilentlyContinue | Export-MeshManifest -Path $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err.FullyQualifiedErrorId | Should -Contain 'MeshFederation.UpstreamError,MeshFederation.Commands.ExportMeshManifestCommand'
        @((Get-Snapshot $out).Keys).Count | Should -Be $before.Count
        foreach ($k in $before.Keys) { Get-Hash $k | Should -Be $before[$k] }
    }

    It 'writes nothing, with an error, when nothing is piped' {
        $out = Join-Path $TestDrive 'out2'
        Import-MeshTopology -Path $good | Export-MeshManifest -Path $out -WarningAction SilentlyContinue
        $before = Get-Snapshot $out
        $err = $null
        @() | Export-MeshManifest -Path $out -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.NoInput*'
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        foreach ($k in $before.Keys) { Get-Hash $k | Should -Be $before[$k] }
        @((Get-Snapshot $out).Keys).Count | Should -Be $before.Count
    }

    It 'writes nothing when one of several topologies upstream fails' {
        $out = Join-Path $TestDrive 'out3'
        $err = $null
        Import-MeshTopology -Path $good, $bad -ErrorAction SilentlyContinue | Export-MeshManifest -Path $out -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $err.FullyQualifiedErrorId | Should -Contain 'MeshFederation.UpstreamError,MeshFederation.Commands.ExportMeshManifestCommand'
        Test-Path $out | Should -BeFalse
    }

    It 'removes the files of clusters no longer exported and keeps files it did not write' {
        $out = Join-Path $TestDrive 'out4'
        $three = Import-MeshTopology -Path (Join-Path $examples 'seed-003-multi-primary.yaml')
        $three | Export-MeshManifest -Path $out -WarningAction SilentlyContinue
        Set-Content -LiteralPath (Join-Path $out 'notes.txt') -Value 'mine'
        Import-MeshTopology -Path $good | Export-MeshManifest -Path $out -WarningAction SilentlyContinue
        Test-Path (Join-Path $out 'cluster1.yaml') | Should -BeFalse
        Test-Path (Join-Path $out 'blue.yaml') | Should -BeTrue
        Get-Content (Join-Path $out 'notes.txt') | Should -Be 'mine'
    }

    It 'never overwrites the topology it read' {
        $dir = Join-Path $TestDrive 'self'
        New-Item -ItemType Directory $dir | Out-Null
        $topology = Join-Path $dir 'blue.yaml'
        Copy-Item $good $topology
        $hash = Get-Hash $topology
        $err = $null
        Import-MeshTopology -Path $topology | Export-MeshManifest -Path $dir -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        ($err | ForEach-Object { $_.ErrorDetails.Message }) -join "`n" | Should -Match 'is an input of this run'
        Get-Hash $topology | Should -Be $hash
    }

    It 'New-MeshCertificateAuthority reports an expired root as an error, not a crash' {
        $dir = Join-Path $TestDrive 'expired'
        New-Item -ItemType Directory $dir | Out-Null
        $key = [System.Security.Cryptography.ECDsa]::Create([System.Security.Cryptography.ECCurve]::CreateFromFriendlyName('nistP256'))
        $req = [System.Security.Cryptography.X509Certificates.CertificateRequest]::new('CN=Root CA, O=Istio', $key, 'SHA256')
        $req.CertificateExtensions.Add([System.Security.Cryptography.X509Certificates.X509BasicConstraintsExtension]::new($true, $false, 0, $true))
        $cert = $req.CreateSelfSigned([DateTimeOffset]::UtcNow.AddDays(-20), [DateTimeOffset]::UtcNow.AddDays(-1))
        Set-Content -LiteralPath (Join-Path $dir 'root-cert.pem') -Value $cert.ExportCertificatePem()
        Set-Content -LiteralPath (Join-Path $dir 'root-key.pem') -Value $key.ExportPkcs8PrivateKeyPem()
        $err = $null
        $ca = New-MeshCertificateAuthority -Cluster c1 -RootCertificatePath (Join-Path $dir 'root-cert.pem') -RootKeyPath (Join-Path $dir 'root-key.pem') -ErrorVariable err -ErrorAction SilentlyContinue
        $ca | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].ErrorDetails.Message | Should -Match 'RootCertificatePath = .*expired on'
    }
}

Describe 'Cmdlet cases of issue 14' {
    BeforeAll {
        $a = New-MeshControlPlane -Name a -Cluster ca
        $b = New-MeshControlPlane -Name b -Cluster cb
    }

    It 'refuses an export of a mesh to itself' {
        $err = $null
        $x = Export-MeshService -ControlPlane $a -Peer a -Namespace x -Name y -ErrorVariable err -ErrorAction SilentlyContinue
        $x | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.Conflict*'
        $err[0].ErrorDetails.Message | Should -Match 'cannot export to itself'
    }

    It 'refuses an empty -LabelSelector instead of exporting the whole namespace' {
        $err = $null
        $x = Export-MeshService -ControlPlane $a -Peer b -Namespace x -LabelSelector @{} -ErrorVariable err -ErrorAction SilentlyContinue
        $x | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'InvalidArgument'
        $err[0].ErrorDetails.Message | Should -Match 'LabelSelector'
    }

    It 'reports an unknown -Cluster filter' {
        $err = $null
        $m = $a, $b | New-MeshPeer | ConvertTo-MeshManifest -Cluster nosuch -ErrorVariable err -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        $m | Should -BeNullOrEmpty
        $err[0].CategoryInfo.Category | Should -Be 'ObjectNotFound'
        "$($err[0].ErrorDetails.Message) $($err[0].ErrorDetails.RecommendedAction)" | Should -Match "Cluster = 'nosuch'.*ca, cb"
    }

    It 'reports a hashtable piped to New-MeshPeer as an error, not a NullReferenceException' {
        $err = $null
        $p = @{ Name = 'x' }, @{ Name = 'y' } | New-MeshPeer -ErrorVariable err -ErrorAction SilentlyContinue
        $p | Should -BeNullOrEmpty
        $err.Count | Should -BeGreaterThan 0
        $err.Exception | Where-Object { $_ -is [System.NullReferenceException] } | Should -BeNullOrEmpty
        $err[0].FullyQualifiedErrorId | Should -BeLike 'MeshFederation.InvalidArgument*'
        $err[0].ErrorDetails.Message | Should -Match 'not a complete control plane'
    }

    It 'reports an unclosed bracket as invalid data at its line, and the session goes on' {
        $bad = Join-Path $TestDrive 'unclosed.yaml'
        (Get-Content -Raw (Join-Path $examples 'seed-001-blue-green.yaml')) -replace 'members: \[nfs-app-istio\]', 'members: [nfs-app-istio' | Set-Content -NoNewline $bad
        $err = $null
        Import-MeshTopology -Path $bad -ErrorVariable err -ErrorAction SilentlyContinue
        $err[0].CategoryInfo.Category | Should -Be 'InvalidData'
        $n = 0
        $line = 0
        foreach ($l in Get-Content -LiteralPath $bad) { $n++; if ($line -eq 0 -and $l.TrimEnd().EndsWith('members: [nfs-app-istio')) { $line = $n } }
        $err[0].ErrorDetails.Message | Should -Match ([regex]::Escape("${bad}:${line}:"))
        (New-MeshControlPlane -Name still-alive).Name | Should -Be 'still-alive'
    }
}
