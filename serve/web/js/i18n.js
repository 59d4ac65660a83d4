// Every string the page shows, in Chinese (default) and English. Species names, field marks
// and unusable-photo messages come from the service in both languages (model taxonomy), so
// they are never duplicated here.

const STRINGS = {
  zh: {
    app_title: "罂粟/大麻巡查",
    nav_capture: "采集",
    nav_queue: "待发送",
    nav_review: "复核",
    nav_settings: "设置",
    lang_switch: "English",
    lang_switch_label: "Switch to English",
    online: "在线",
    offline: "离线",

    photos: "照片",
    photos_count: "照片（{n}/{max}）",
    take_photo: "拍照",
    choose_photos: "从相册选择",
    remove_photo: "删除",
    retake: "重拍",
    photo_n: "照片 {n}",
    too_many_photos: "最多 {max} 张照片，多余的未添加。",
    scoring: "正在识别…",
    not_scored_offline: "离线：发送时识别",
    score_failed: "识别失败：{msg}",
    field_marks: "现场辨别要点",

    verdict_suspected: "疑似",
    verdict_review: "需复核",
    verdict_clear: "未发现",
    verdict_unusable: "照片不可用",
    verdict_pending: "待识别",
    level_alert: "警报",
    level_review: "需复核",
    verdict_help_suspected: "发现疑似管制植物：请立即上报并按规定处置。",
    verdict_help_review: "可能是管制植物：请对照下列要点现场核实。",
    verdict_help_clear: "未发现管制植物。",
    verdict_help_unusable: "请重拍这张照片。",
    probability: "概率 {p}%",
    combined: "综合结论",

    location: "位置",
    locating: "正在定位…",
    location_value: "{lat}, {lon}（±{acc} 米）",
    location_poor: "定位精度差（±{acc} 米，要求 ≤{max} 米）。请到开阔处稍候，或刷新定位。",
    location_denied: "无法获取位置：{msg}。记录仍可提交，但没有设备位置。",
    location_unsupported: "此浏览器不支持定位。",
    refresh_location: "刷新定位",

    site_type: "地块类型",
    choose: "请选择",
    site_courtyard: "庭院",
    site_farmland: "农田",
    site_wasteland: "荒地",
    site_rooftop: "屋顶/阳台",
    site_greenhouse: "大棚",
    site_remote_plot: "偏远地块",
    site_forest: "林地",
    site_roadside: "路边",
    site_riverbank: "河边",
    site_other: "其他",
    unit: "单位",
    unit_hint: "社区 / 农场队",
    notes: "备注",
    target: "关联疑似目标",
    target_none: "不关联",
    target_item: "{id} · {dist} · {source}",
    targets_none_near: "附近没有未核查的目标",
    refresh_targets: "刷新附近目标",
    submit: "提交巡查记录",
    submitting: "正在提交…",
    need_photo: "请至少添加一张照片。",
    need_site: "请选择地块类型。",
    need_key: "请先在“设置”中输入访问密钥。",
    all_unusable: "所有照片都不可用，请重拍后再提交。",
    filed: "已提交：记录 {id}",
    queued: "无网络：记录已保存在本机，恢复网络后自动发送。",
    not_saved: "记录未能保存到本机（存储空间不足？）",
    new_inspection: "新建记录",

    queue_title: "待发送记录",
    queue_empty: "没有待发送的记录。",
    queue_item: "{time} · {n} 张照片 · {site}",
    status_waiting: "等待网络",
    status_sending: "正在发送…",
    status_failed: "服务器拒绝：{msg}",
    status_retry: "发送失败，将重试：{msg}",
    send_now: "立即发送",
    delete: "删除",
    confirm_delete: "删除这条未发送的记录？删除后无法恢复。",
    sent_title: "最近已发送",
    sent_empty: "还没有发送过记录。",
    pending_count: "{n} 条待发送",

    review_title: "复核",
    tips_link: "群众举报",
    filters: "筛选",
    filter_verdict: "结论",
    filter_review_state: "复核状态",
    filter_unit: "单位",
    filter_from: "开始日期",
    filter_to: "结束日期",
    any: "全部",
    flagged: "疑似或需复核",
    no_location: "无位置",
    nothing_changed: "没有修改。",
    eradication_note: "铲除说明",
    apply: "应用",
    load_more: "加载更多",
    map: "地图",
    map_label: "疑似记录与未核查目标分布图",
    list: "列表",
    records_none: "没有符合条件的记录。",
    record: "记录 {id}",
    open_targets: "未核查目标",
    legend_target: "目标",
    back: "返回列表",
    inspector: "巡查员",
    observed_at: "发现时间",
    captured_at: "拍摄时间",
    location_source: "位置来源",
    source_device: "设备定位",
    source_photo: "照片GPS",
    source_manual: "手动",
    location_conflict: "照片GPS与设备定位相差较大",
    model: "模型",
    review_state: "复核结论",
    review_pending: "待复核",
    review_confirmed_opium_poppy: "确认为罂粟",
    review_confirmed_cannabis: "确认为大麻",
    review_lookalike: "相似植物",
    review_not_target: "非管制植物",
    review_note: "复核说明",
    eradication: "铲除",
    eradicated_on: "铲除日期",
    plant_count: "株数",
    area_m2: "面积（平方米）",
    method: "方式",
    method_uprooted: "拔除",
    method_burned: "焚烧",
    method_herbicide: "药剂",
    method_cut: "砍除",
    method_other: "其他",
    save: "保存",
    saved: "已保存。",
    history: "修改记录",
    action_created: "提交",
    action_updated: "修改",
    review_label: "训练标签",

    settings_title: "设置",
    api_key: "访问密钥",
    api_key_hint: "由管理员发放，只需输入一次，保存在本机。",
    show: "显示",
    save_key: "保存密钥",
    key_ok: "密钥有效：{role}，单位 {unit}",
    key_bad: "密钥无效或服务器不可用：{msg}",
    key_saved_offline: "已保存；离线，稍后验证。",
    forget_key: "清除密钥",
    role_inspector: "巡查员",
    role_reviewer: "复核员",
    role_admin: "管理员",
    accuracy_threshold: "定位精度警告阈值（米）",
    language: "语言",

    err_unauthorized: "访问密钥无效或已停用",
    err_forbidden: "此密钥无权执行该操作",
    err_not_found: "记录不存在",
    err_conflict: "与已有记录冲突",
    err_precondition_failed: "该记录刚被他人修改，已重新载入，请核对后再保存",
    err_payload_too_large: "照片文件太大",
    err_image_too_large: "照片像素太多",
    err_image_too_small: "照片太小，请靠近重拍",
    err_unsupported_format: "不支持的图片格式",
    err_truncated_image: "照片文件不完整，请重新选择",
    err_bad_image: "照片无法读取",
    err_invalid: "提交的内容有误",
    err_unavailable: "服务暂不可用",
    err_internal_error: "服务器内部错误",
    error_network: "网络不可用",
    error_http: "服务器错误 {status}",
    unknown: "未知",
    yes: "是",
    no: "否",
    meters: "{n} 米",
    km: "{n} 公里",
  },
  en: {
    app_title: "Poppy & cannabis patrol",
    nav_capture: "Capture",
    nav_queue: "Pending",
    nav_review: "Review",
    nav_settings: "Settings",
    lang_switch: "中文",
    lang_switch_label: "切换到中文",
    online: "Online",
    offline: "Offline",

    photos: "Photos",
    photos_count: "Photos ({n}/{max})",
    take_photo: "Take photo",
    choose_photos: "Choose photos",
    remove_photo: "Remove",
    retake: "Retake",
    photo_n: "Photo {n}",
    too_many_photos: "At most {max} photos; the extra ones were not added.",
    scoring: "Scoring…",
    not_scored_offline: "Offline: scored when sent",
    score_failed: "Scoring failed: {msg}",
    field_marks: "Field marks to check",

    verdict_suspected: "Suspected",
    verdict_review: "Needs review",
    verdict_clear: "Nothing found",
    verdict_unusable: "Photo unusable",
    verdict_pending: "Not scored yet",
    level_alert: "alert",
    level_review: "review",
    verdict_help_suspected: "Suspected controlled plant: report it and act as instructed.",
    verdict_help_review: "Possibly a controlled plant: check the field marks below on site.",
    verdict_help_clear: "No controlled plant found.",
    verdict_help_unusable: "Please retake this photo.",
    probability: "probability {p}%",
    combined: "Overall",

    location: "Location",
    locating: "Locating…",
    location_value: "{lat}, {lon} (±{acc} m)",
    location_poor:
      "Location accuracy is poor (±{acc} m, needs ≤{max} m). Move to open sky and wait, or refresh.",
    location_denied: "No location: {msg}. You can still file, without a device location.",
    location_unsupported: "This browser cannot read the location.",
    refresh_location: "Refresh location",

    site_type: "Site type",
    choose: "Choose…",
    site_courtyard: "Courtyard",
    site_farmland: "Farmland",
    site_wasteland: "Wasteland",
    site_rooftop: "Rooftop / balcony",
    site_greenhouse: "Greenhouse",
    site_remote_plot: "Remote plot",
    site_forest: "Forest",
    site_roadside: "Roadside",
    site_riverbank: "Riverbank",
    site_other: "Other",
    unit: "Unit",
    unit_hint: "community / farm team",
    notes: "Notes",
    target: "Link to a suspected target",
    target_none: "No link",
    target_item: "{id} · {dist} · {source}",
    targets_none_near: "No open targets nearby",
    refresh_targets: "Refresh nearby targets",
    submit: "File inspection",
    submitting: "Filing…",
    need_photo: "Add at least one photo.",
    need_site: "Choose the site type.",
    need_key: "Enter your access key in Settings first.",
    all_unusable: "Every photo is unusable: retake them before filing.",
    filed: "Filed: record {id}",
    queued: "No network: the record is saved on this phone and will be sent automatically.",
    not_saved: "The record could not be saved on this phone (storage full?)",
    new_inspection: "New inspection",

    queue_title: "Pending records",
    queue_empty: "Nothing waiting to be sent.",
    queue_item: "{time} · {n} photo(s) · {site}",
    status_waiting: "Waiting for network",
    status_sending: "Sending…",
    status_failed: "Rejected by the server: {msg}",
    status_retry: "Sending failed, will retry: {msg}",
    send_now: "Send now",
    delete: "Delete",
    confirm_delete: "Delete this unsent record? It cannot be recovered.",
    sent_title: "Recently sent",
    sent_empty: "Nothing sent yet.",
    pending_count: "{n} pending",

    review_title: "Review",
    tips_link: "Tip-offs from the public",
    filters: "Filters",
    filter_verdict: "Verdict",
    filter_review_state: "Review state",
    filter_unit: "Unit",
    filter_from: "From",
    filter_to: "To",
    any: "Any",
    flagged: "Suspected or review",
    no_location: "no location",
    nothing_changed: "Nothing changed.",
    eradication_note: "Eradication note",
    apply: "Apply",
    load_more: "Load more",
    map: "Map",
    map_label: "Map of suspected records and open targets",
    list: "List",
    records_none: "No records match.",
    record: "Record {id}",
    open_targets: "Open targets",
    legend_target: "Target",
    back: "Back to list",
    inspector: "Inspector",
    observed_at: "Observed",
    captured_at: "Captured",
    location_source: "Location from",
    source_device: "device GPS",
    source_photo: "photo GPS",
    source_manual: "entered by hand",
    location_conflict: "Photo GPS and device GPS disagree",
    model: "Model",
    review_state: "Review",
    review_pending: "Pending review",
    review_confirmed_opium_poppy: "Confirmed opium poppy",
    review_confirmed_cannabis: "Confirmed cannabis",
    review_lookalike: "Look-alike",
    review_not_target: "Not a target",
    review_note: "Review note",
    eradication: "Eradication",
    eradicated_on: "Date eradicated",
    plant_count: "Plants",
    area_m2: "Area (m²)",
    method: "Method",
    method_uprooted: "Uprooted",
    method_burned: "Burned",
    method_herbicide: "Herbicide",
    method_cut: "Cut down",
    method_other: "Other",
    save: "Save",
    saved: "Saved.",
    history: "History",
    action_created: "filed",
    action_updated: "changed",
    review_label: "training label",

    settings_title: "Settings",
    api_key: "Access key",
    api_key_hint: "Issued by your administrator. Enter it once; it stays on this phone.",
    show: "Show",
    save_key: "Save key",
    key_ok: "Key accepted: {role}, unit {unit}",
    key_bad: "Key refused or server unreachable: {msg}",
    key_saved_offline: "Saved; offline, will check later.",
    forget_key: "Forget key",
    role_inspector: "inspector",
    role_reviewer: "reviewer",
    role_admin: "administrator",
    accuracy_threshold: "Warn when location accuracy is worse than (m)",
    language: "Language",

    err_unauthorized: "access key unknown or revoked",
    err_forbidden: "this key may not do that",
    err_not_found: "record not found",
    err_conflict: "conflicts with an existing record",
    err_precondition_failed:
      "someone else changed this record; it was reloaded: check and save again",
    err_payload_too_large: "photo file too large",
    err_image_too_large: "photo has too many pixels",
    err_image_too_small: "photo too small: move closer and retake",
    err_unsupported_format: "unsupported image format",
    err_truncated_image: "photo file is incomplete: choose it again",
    err_bad_image: "photo cannot be read",
    err_invalid: "the request is invalid",
    err_unavailable: "service unavailable",
    err_internal_error: "server error",
    error_network: "network unavailable",
    error_http: "server error {status}",
    unknown: "unknown",
    yes: "yes",
    no: "no",
    meters: "{n} m",
    km: "{n} km",
  },
};

export const LANGS = Object.keys(STRINGS);

// Other pages (the public check page, the tips page) bring their own strings.
export function addStrings(more) {
  for (const l of LANGS) Object.assign(STRINGS[l], more[l] || {});
}
let lang = localStorage.getItem("plantscout.lang") || "zh";
if (!STRINGS[lang]) lang = "zh";

export function getLang() {
  return lang;
}

export function setLang(next) {
  lang = STRINGS[next] ? next : "zh";
  localStorage.setItem("plantscout.lang", lang);
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  applyStatic(document);
}

// t("photos_count", {n: 2, max: 10})
export function t(key, params = {}) {
  const s = STRINGS[lang][key] ?? STRINGS.zh[key] ?? key;
  return s.replace(/\{(\w+)\}/g, (_, k) => (k in params ? String(params[k]) : `{${k}}`));
}

// Does this key exist? (for enum values the service may add later)
export function has(key) {
  return key in STRINGS[lang];
}

// {zh, en} objects from the service
export function pick(text) {
  if (text == null) return "";
  if (typeof text === "string") return text;
  return text[lang] ?? text.zh ?? text.en ?? "";
}

// Elements carry data-i18n="key" (text), data-i18n-attr="attr:key;attr:key".
export function applyStatic(root) {
  root.querySelectorAll("[data-i18n]").forEach((el) => {
    el.textContent = t(el.dataset.i18n);
  });
  root.querySelectorAll("[data-i18n-attr]").forEach((el) => {
    for (const pair of el.dataset.i18nAttr.split(";")) {
      const [attr, key] = pair.split(":");
      el.setAttribute(attr.trim(), t(key.trim()));
    }
  });
}

export function fmtDateTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", {
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
    hour: "2-digit",
    minute: "2-digit",
  });
}

export function fmtDistance(m) {
  if (m == null || !Number.isFinite(m)) return "";
  return m < 1000 ? t("meters", { n: Math.round(m) }) : t("km", { n: (m / 1000).toFixed(1) });
}
