// A PowerShell host for the Pester suite (compiled with Add-Type): it records everything a console would show (output
// formatted by Out-Default, What if lines, warnings, verbose, errors), every prompt (ShouldProcess, ShouldContinue) and
// every progress record, and answers prompts from a script of choices. Runspaces opened on it run examples and
// cmdlets as an interactive user would see them, at a fixed console width.
using System;
using System.Collections.Generic;
using System.Collections.ObjectModel;
using System.Globalization;
using System.Management.Automation;
using System.Management.Automation.Host;
using System.Security;
using System.Text;

namespace MeshFederation.PesterSupport
{
    public sealed class PromptRecord
    {
        public string Caption { get; set; }
        public string Message { get; set; }
        public string[] Choices { get; set; }
        public string Answer { get; set; }
        public override string ToString() { return Caption + ": " + Message + " -> " + Answer; }
    }

    public sealed class RecordingHost : PSHost
    {
        private readonly Guid _id = Guid.NewGuid();
        private readonly RecordingUI _ui;

        public RecordingHost(int width) { _ui = new RecordingUI(width); }

        public RecordingUI Recorder { get { return _ui; } }
        public override string Name { get { return "MeshFederationPesterHost"; } }
        public override Version Version { get { return new Version(1, 0); } }
        public override Guid InstanceId { get { return _id; } }
        public override PSHostUserInterface UI { get { return _ui; } }
        public override CultureInfo CurrentCulture { get { return CultureInfo.InvariantCulture; } }
        public override CultureInfo CurrentUICulture { get { return CultureInfo.GetCultureInfo("en-US"); } }
        public override void SetShouldExit(int exitCode) { }
        public override void EnterNestedPrompt() { throw new NotSupportedException(); }
        public override void ExitNestedPrompt() { throw new NotSupportedException(); }
        public override void NotifyBeginApplication() { }
        public override void NotifyEndApplication() { }
    }

    public sealed class RecordingUI : PSHostUserInterface
    {
        private readonly StringBuilder _text = new StringBuilder();
        private readonly RecordingRawUI _raw;
        private readonly object _gate = new object();

        public RecordingUI(int width) { _raw = new RecordingRawUI(width); }

        /// <summary>Labels of the choices to pick, in order ("Yes", "Yes to All", "No", "No to All"); DefaultAnswer when empty.</summary>
        public Queue<string> Answers { get; } = new Queue<string>();
        public string DefaultAnswer { get; set; } = "No";
        public List<PromptRecord> Prompts { get; } = new List<PromptRecord>();
        public List<ProgressRecord> Progress { get; } = new List<ProgressRecord>();
        public List<string> Warnings { get; } = new List<string>();
        public List<string> VerboseLines { get; } = new List<string>();
        public List<string> Errors { get; } = new List<string>();
        public string Text { get { lock (_gate) return _text.ToString(); } }

        public override PSHostRawUserInterface RawUI { get { return _raw; } }
        public override bool SupportsVirtualTerminal { get { return false; } }

        private void Append(string s) { lock (_gate) _text.Append(s); }
        public override void Write(string value) { Append(value); }
        public override void Write(ConsoleColor foregroundColor, ConsoleColor backgroundColor, string value) { Append(value); }
        public override void WriteLine(string value) { Append(value + "\n"); }
        public override void WriteErrorLine(string value) { lock (_gate) Errors.Add(value); Append(value + "\n"); }
        public override void WriteDebugLine(string message) { Append("DEBUG: " + message + "\n"); }
        public override void WriteVerboseLine(string message) { lock (_gate) VerboseLines.Add(message); Append("VERBOSE: " + message + "\n"); }
        public override void WriteWarningLine(string message) { lock (_gate) Warnings.Add(message); Append("WARNING: " + message + "\n"); }
        public override void WriteProgress(long sourceId, ProgressRecord record) { lock (_gate) Progress.Add(record); }
        public override void WriteInformation(InformationRecord record) { }

        public override string ReadLine() { throw new NotSupportedException("the test host cannot read input"); }
        public override SecureString ReadLineAsSecureString() { throw new NotSupportedException("the test host cannot read input"); }

        public override Dictionary<string, PSObject> Prompt(string caption, string message, Collection<FieldDescription> descriptions)
        {
            throw new NotSupportedException("the test host cannot prompt for fields: " + caption);
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName)
        {
            throw new NotSupportedException("the test host cannot prompt for credentials");
        }

        public override PSCredential PromptForCredential(string caption, string message, string userName, string targetName, PSCredentialTypes allowedCredentialTypes, PSCredentialUIOptions options)
        {
            throw new NotSupportedException("the test host cannot prompt for credentials");
        }

        public override int PromptForChoice(string caption, string message, Collection<ChoiceDescription> choices, int defaultChoice)
        {
            var labels = new List<string>();
            foreach (var c in choices) labels.Add(c.Label.Replace("&", ""));
            string answer;
            lock (_gate) answer = Answers.Count > 0 ? Answers.Dequeue() : DefaultAnswer;
            var index = labels.FindIndex(l => string.Equals(l, answer, StringComparison.OrdinalIgnoreCase));
            if (index < 0) throw new InvalidOperationException("no choice '" + answer + "' among " + string.Join(", ", labels));
            lock (_gate) Prompts.Add(new PromptRecord { Caption = caption, Message = message, Choices = labels.ToArray(), Answer = labels[index] });
            Append(caption + "\n" + message + "\n");
            return index;
        }
    }

    public sealed class RecordingRawUI : PSHostRawUserInterface
    {
        private Size _buffer;

        public RecordingRawUI(int width) { _buffer = new Size(width, 3000); }

        public override ConsoleColor BackgroundColor { get; set; }
        public override ConsoleColor ForegroundColor { get; set; }
        public override Size BufferSize { get { return _buffer; } set { _buffer = value; } }
        public override Coordinates CursorPosition { get; set; }
        public override int CursorSize { get; set; }
        public override bool KeyAvailable { get { return false; } }
        public override Size MaxPhysicalWindowSize { get { return new Size(_buffer.Width, 100); } }
        public override Size MaxWindowSize { get { return new Size(_buffer.Width, 100); } }
        public override Coordinates WindowPosition { get; set; }
        public override Size WindowSize { get { return new Size(_buffer.Width, 100); } set { } }
        public override string WindowTitle { get; set; }
        public override void FlushInputBuffer() { }
        public override BufferCell[,] GetBufferContents(Rectangle rectangle) { throw new NotSupportedException(); }
        public override KeyInfo ReadKey(ReadKeyOptions options) { throw new NotSupportedException("the test host cannot read keys"); }
        public override void ScrollBufferContents(Rectangle source, Coordinates destination, Rectangle clip, BufferCell fill) { }
        public override void SetBufferContents(Coordinates origin, BufferCell[,] contents) { }
        public override void SetBufferContents(Rectangle rectangle, BufferCell fill) { }
    }
}
