"""The engine's own strings (menus, prompts, refusals, errors in the terminal) in each
`communication_language` of config.yaml. Packs carry their own wording (DESIGN 10)."""

from __future__ import annotations

LANGUAGES = ("en", "ja")

_CATALOG: dict[str, dict[str, str]] = {
    "en": {
        "step_title": "Step {id}: {title}",
        "not_written": "not written yet",
        "context": "context",
        "knowledge_heading": "From the knowledge base:",
        "missing": "Missing:",
        "warning": "warning:",
        "drafted": "drafted",
        "decision": "decision",
        "story": "story",
        "problem": "problem",
        "progress": "Progress",
        "progress_columns": "step|title|status",
        "default": "default: {value}",
        "optional": "(optional)",
        "before_continue": "Before Continue: {items}",
        "choose_prompt": "Choose> ",
        "input_ended": "Input ended; progress saved. Resume with `cairn chat {name}`.",
        "workflow_complete": "[bold green]Workflow complete.[/] Files are in {folder}",
        "no_answer_field": "field '{field}'",
        "no_answer_menu": "the menu",
        "no_answer": "step {id} ({title}): no answer for {what}; progress is saved. "
                     "Add it to the answers file or pass --set, then run again",
        "choose_option": "Choose an option: {keys}",
        "unknown_option": "Unknown option '{text}'. Choose one of: {keys}.",
        "noted": "Noted on this step.",
        "party_needs_model": ("Party Mode brings the pack's other personas in ({names}); they are played by a chat "
                              "model: add `llm:` to config.yaml and run `cairn chat` again."),
        "cannot_complete": "This step cannot be completed yet.",
        "revising": "Revising this step: press Enter to keep an earlier answer.",
        "cannot_skip": "This step cannot be skipped.",
        "knowledge_unavailable": "Knowledge base unavailable ({reason}); continuing without it.",
        "step_complete": "Step {id} ({title}) complete.",
        "step_skipped": "Step {id} ({title}) skipped: {reason}",
        "step_revise": " Revising step {target}; the session returns here afterwards.",
        "pushback_ask": "Change {field} now (type a new value), or press Enter to keep it:",
        "pushback_intro": "{persona} pushes back on {field} = {value}:",
        "revision_reason": "Reopened by step {origin} (REVISE): {reason}",
        "stale_step": "This step's documents were drafted before these answers changed: {fields}. "
                      "Review the re-drafted documents before Continue.",
        "stale_documents": "Documents were drafted from answers that changed since: {items}.",
        "stale_fix": "reopen each of those steps (cairn chat PROJECT --goto STEP) so it re-drafts them.",
        "view_drafts": "View the drafts again",
        "list_hint": "(one per line; an empty line ends)",
        "continue_back": "Continue (back to step {id}: {title})",
        "not_acknowledged": "Check {id} not acknowledged; the step stays open.",
        "skip_unavailable_when": "Step {id} can be skipped only when `{when}`; that is not the case now.",
        "skip_unavailable": "Step {id} cannot be skipped: the plan needs it (only steps the pack marks "
                            "as skippable, such as retrieval for a fine-tuning-only design, offer S).",
        "review_heading": "Review before Continue: what C will commit",
        "checks_heading": "Checks",
        "no_checks_tripped": "All checks pass.",
        "confirm_heading": "Continue needs your acknowledgement:",
        "confirm_prompt": "Reason to go on anyway (Enter = back to the menu)> ",
        "acknowledged": "acknowledged: {reason}",
        "backed_by": "Knowledge: {title} ({id})",
        "view_again": "Press D to view the drafts again.",
        "lines": "{n} lines",
        "answer_rejected": "step {id} ({title}): the answers file's value for {field} was refused: {error}. "
                           "Fix it in the answers file or with --set, then run again",
        "continue_refused": "step {id} ({title}): Continue was refused; fix these in the answers file "
                            "(or acknowledge confirm checks under `acknowledge:`) and run again:\n{items}",
        "menu_rejected": "step {id} ({title}): the answers file's menu key '{pressed}' was refused: {error}",
    },
    "ja": {
        "step_title": "ステップ {id}: {title}",
        "not_written": "未作成",
        "context": "参照",
        "knowledge_heading": "ナレッジベースより:",
        "missing": "不足:",
        "warning": "警告:",
        "drafted": "下書き",
        "decision": "決定",
        "story": "ストーリー",
        "problem": "問題",
        "progress": "進捗",
        "progress_columns": "ステップ|タイトル|状態",
        "default": "既定値: {value}",
        "optional": "(任意)",
        "before_continue": "続行の前に: {items}",
        "choose_prompt": "選択> ",
        "input_ended": "入力が終了しました。進捗は保存済みです。`cairn chat {name}` で再開できます。",
        "workflow_complete": "[bold green]ワークフロー完了。[/] ファイルの場所: {folder}",
        "no_answer_field": "項目 '{field}'",
        "no_answer_menu": "メニュー",
        "no_answer": "ステップ {id} ({title}): {what} への回答がありません。進捗は保存済みです。"
                     "回答ファイルに追加するか --set を指定して、もう一度実行してください",
        "choose_option": "選択肢を選んでください: {keys}",
        "unknown_option": "'{text}' は選択肢にありません。次から選んでください: {keys}。",
        "noted": "このステップのメモとして記録しました。",
        "party_needs_model": ("パーティーモードではパックの他のペルソナ({names})が参加します。"
                              "チャットモデルが演じるため、config.yaml に `llm:` を追加して "
                              "`cairn chat` をもう一度実行してください。"),
        "cannot_complete": "このステップはまだ完了できません。",
        "revising": "このステップを見直します。以前の回答を残すには Enter を押してください。",
        "cannot_skip": "このステップはスキップできません。",
        "knowledge_unavailable": "ナレッジベースを利用できません ({reason})。ナレッジなしで続行します。",
        "step_complete": "ステップ {id} ({title}) 完了。",
        "step_skipped": "ステップ {id} ({title}) をスキップしました: {reason}",
        "step_revise": " ステップ {target} を見直します。その後このステップに戻ります。",
        "pushback_ask": "{field} を今変更するなら新しい値を入力、そのままなら Enter:",
        "pushback_intro": "{persona} から {field} = {value} への指摘:",
        "revision_reason": "ステップ {origin} の REVISE により再開: {reason}",
        "view_drafts": "下書きをもう一度見る",
        "continue_back": "続行 (ステップ {id}: {title} に戻る)",
        "review_heading": "続行前の確認: C で確定する内容",
        "checks_heading": "チェック",
        "no_checks_tripped": "すべてのチェックに合格しました。",
        "confirm_heading": "続行には確認が必要です:",
        "confirm_prompt": "それでも続行する理由 (Enter でメニューに戻る)> ",
        "stale_step": "このステップの文書は、次の回答が変わる前に作成されました: {fields}。"
                      "続行の前に作り直した文書を確認してください。",
        "stale_documents": "その後に変わった回答をもとに作成された文書があります: {items}。",
        "stale_fix": "それぞれのステップを開き直して (cairn chat PROJECT --goto STEP) 文書を作り直してください。",
        "list_hint": "(1 行に 1 項目、空行で終了)",
        "not_acknowledged": "チェック {id} は確認されていません。ステップは開いたままです。",
        "skip_unavailable_when": "ステップ {id} をスキップできるのは `{when}` のときだけです。今はそうではありません。",
        "skip_unavailable": "ステップ {id} はスキップできません。計画に必要なステップです。",
        "acknowledged": "確認済み: {reason}",
        "backed_by": "ナレッジ: {title} ({id})",
        "view_again": "D で下書きをもう一度表示します。",
        "lines": "{n} 行",
        "answer_rejected": "ステップ {id} ({title}): 回答ファイルの {field} の値は受け付けられませんでした: {error}。"
                           "回答ファイルか --set で直して、もう一度実行してください",
        "continue_refused": "ステップ {id} ({title}): 続行できませんでした。回答ファイルで次を直す"
                            "(confirm チェックは `acknowledge:` で確認する)と、もう一度実行できます:\n{items}",
        "menu_rejected": "ステップ {id} ({title}): 回答ファイルのメニューキー '{pressed}' は"
                         "受け付けられませんでした: {error}",
    },
}

_current = "en"


def use_language(language: str | None) -> None:
    """Make `language` the default of `t` for this process (the terminal sets it per session);
    an unknown language falls back to English."""
    global _current
    _current = language if language in _CATALOG else "en"


def t(key: str, language: str | None = None, **values: object) -> str:
    """The string `key` in `language` (default: the one set by `use_language`), formatted with
    `values`. Raises KeyError for a key missing from the English catalog (a programming error)."""
    catalog = _CATALOG.get(language or _current, _CATALOG["en"])
    text = catalog.get(key) or _CATALOG["en"][key]
    return text.format(**values) if values else text
