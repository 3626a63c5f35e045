"""The demo catalog of `make run` (DESIGN "The service catalog", "Running it").

Life events, e-licence types, one workflow per department (copied from the standard template) and
published services of the demo city 示范市, with their materials and application forms. Idempotent:
what exists is kept, so it can run on every start. Needs the departments of accounts.demo.

Services are written as data below; `_form(...)` and the small field helpers build the JSON Schema
subset of services/schema.py, so every form reads as a list of labelled fields.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from accounts.models import Department

from .catalog import create_service, publish_version
from .models import LicenceType, LifeEvent, ServiceItem, WorkflowDefinition
from .workflows import copy_workflow, ensure_standard_template, publish_workflow, workflow_problems

LIFE_EVENTS = [
    # code, name, English name
    ("birth", "出生", "Birth"),
    ("school", "上学", "Going to school"),
    ("employment", "就业", "Work and employment"),
    ("marriage-and-children", "婚育", "Marriage and children"),
    ("housing", "置业", "Buying a home"),
    ("starting-a-business", "开办企业", "Starting a business"),
    ("travel", "出行", "Travel and driving"),
    ("retirement", "养老", "Retirement and old age"),
    ("disability", "身心障碍", "Disability support"),
    ("bereavement", "身后事", "Bereavement"),
]

LICENCE_TYPES = [
    # code, name, English name, issuing department, validity in years (None: indefinite)
    ("business-licence", "营业执照", "Business licence", "city-amr", None),
    ("food-business-licence", "食品经营许可证", "Food business licence", "city-amr", 5),
    ("drug-business-licence", "药品经营许可证", "Drug business licence", "city-amr", 5),
    ("driving-licence", "机动车驾驶证", "Driving licence", "city-psb", 10),
    # 5, 10 or 20 years or long-term depending on age; 20 is the common adult term.
    ("resident-id-card", "居民身份证", "Resident identity card", "city-psb", 20),
    ("residence-permit", "居住证", "Residence permit", "city-psb", 1),
    ("marriage-certificate", "结婚证", "Marriage certificate", "city-civil", None),
    ("senior-citizen-card", "老年人优待证", "Senior citizen's card", "city-civil", None),
    ("disability-certificate", "残疾人证", "Disability certificate", "city-dpf", 10),
    ("social-security-card", "社会保障卡", "Social security card", "city-hrss", 10),
    ("real-estate-certificate", "不动产权证书", "Real estate title certificate", "city-nrp", None),
    ("planning-permit", "建设工程规划许可证", "Construction planning permit", "city-nrp", None),
]

# What a licence type certifies: the answers printed on it (LicenceType.content_fields); the names
# are the fields of the 个体工商户 forms (设立 330100-AMR-DJ-001 and 变更 330100-AMR-DJ-006).
LICENCE_CONTENT = {
    "business-licence": [
        {"field": "business_name", "label": "名称", "label_en": "Name"},
        {"field": "applicant_name", "label": "经营者", "label_en": "Operator"},
        {"field": "operation", "label": "组成形式", "label_en": "Form of operation"},
        {"field": "premises", "label": "经营场所", "label_en": "Business premises"},
        {"field": "business_scope", "label": "经营范围", "label_en": "Business activities"},
    ],
}

OFFICE_HOURS = "周一至周五 9:00—12:00，13:30—17:00（法定节假日除外）"
CENTRE = "示范市政务服务中心（滨江区市民路 1 号）"
DESKS = {
    # where to go in person, enquiry phone
    "city-amr": (f"{CENTRE}一楼 A 区 商事登记窗口", "12345 转 1"),
    "city-psb": (f"{CENTRE}二楼 B 区 公安综合窗口，或户籍所在地派出所", "12345 转 2"),
    "city-civil": ("示范市婚姻登记处（滨江区望海路 66 号）", "12345 转 3"),
    "city-hrss": (f"{CENTRE}二楼 C 区 人社综合窗口", "12345 转 4"),
    "city-hsa": (f"{CENTRE}二楼 D 区 医保窗口", "12345 转 5"),
    "city-hpf": ("示范市住房公积金管理中心服务大厅（滨江区江南大道 300 号）", "12329"),
    "city-dpf": ("示范市残疾人综合服务中心一楼（青山区康乐路 12 号）", "12385"),
    "city-nrp": (f"{CENTRE}三楼 不动产登记和规划许可窗口", "12345 转 6"),
    "street-huqiao": ("湖桥街道便民服务中心（滨江区湖桥路 18 号）", "12345 转 7"),
    "street-wanghai": ("望海街道便民服务中心（滨江区望海路 120 号）", "12345 转 7"),
    "street-songlin": ("松林街道便民服务中心（青山区松林路 45 号）", "12345 转 7"),
}

# --- Form fields -----------------------------------------------------------------------------------

# [0-9], not \d: to Python's re \d is any Unicode digit, to ECMAScript only these ten.
MOBILE = r"^1[3-9][0-9]{9}$"
USCC = r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$"
POSTCODE = r"^[0-9]{6}$"
BANK_ACCOUNT = r"^[0-9]{12,19}$"
_REQUIRED = "_required"  # marks a field required until _form / _rows lift it into "required"


def _field(kind, zh, en, help=None, optional=False, **extra) -> dict:
    prop = {"type": kind, "title": zh, "x-label": {"zh-hans": zh, "en": en}, **extra}
    if help:
        prop["x-help"] = {"zh-hans": help[0], "en": help[1]}
    if not optional:
        prop[_REQUIRED] = True
    return prop


def _text(zh, en, max_length=50, *, pattern=None, prefill=None, textarea=False, **kw) -> dict:
    extra = {"maxLength": max_length}
    if pattern:
        extra["pattern"] = pattern
    if prefill:
        extra["x-prefill"] = prefill
    if textarea:
        extra["x-widget"] = "textarea"
    return _field("string", zh, en, **extra, **kw)


def _id_number(zh, en, *, prefill=None, **kw) -> dict:
    """A resident ID number (公民身份号码), checked as at registration (check digit included)."""
    return _field(
        "string", zh, en, format="id_number", **({"x-prefill": prefill} if prefill else {}), **kw
    )


def _date(zh, en, **kw) -> dict:
    return _field("string", zh, en, format="date", **kw)


def _int(zh, en, low, high, **kw) -> dict:
    return _field("integer", zh, en, minimum=low, maximum=high, **kw)


def _number(zh, en, high, **kw) -> dict:
    """A positive amount (money, area, share) up to `high`."""
    return _field("number", zh, en, exclusiveMinimum=0, maximum=high, **kw)


def _choice(zh, en, options, **kw) -> dict:
    """options: (value, 中文, English); values are all strings or all integers."""
    kind = "integer" if isinstance(options[0][0], int) else "string"
    labels = {str(value): {"zh-hans": z, "en": e} for value, z, e in options}
    return _field(kind, zh, en, enum=[o[0] for o in options], **{"x-enum-labels": labels}, **kw)


def _must(zh, en, **kw) -> dict:
    """A box the applicant has to tick."""
    return _field("boolean", zh, en, const=True, **kw)


def _flag(zh, en, **kw) -> dict:
    return _field("boolean", zh, en, optional=True, **kw)


def _when(field, value, *, require=()) -> dict:
    """A condition: the fields of `require` are asked (and required) only while `field` has
    `value` (or one of a list of values)."""
    test = {"enum": value} if isinstance(value, list) else {"const": value}
    return {
        "if": {"properties": {field: test}, "required": [field]},
        "then": {"required": list(require)},
    }


def _object(fields: dict, rules: list[dict] | None = None) -> dict:
    conditional = {name for rule in rules or [] for name in rule["then"]["required"]}
    properties, required = {}, []
    for name, prop in fields.items():
        if prop.pop(_REQUIRED, False) and name not in conditional:
            required.append(name)
        properties[name] = prop
    result = {
        "type": "object",
        "x-order": list(properties),
        "required": required,
        "properties": properties,
    }
    if rules:
        result["allOf"] = rules
    return result


def _rows(zh, en, fields: dict, low=None, high=10, *, rules=None, optional=None, **kw) -> dict:
    """A list of entries (each a small object), between `low` and `high` of them."""
    bounds = {"maxItems": high} | ({"minItems": low} if low else {})
    optional = not low if optional is None else optional
    return _field("array", zh, en, items=_object(fields, rules), optional=optional, **bounds, **kw)


def _form(*parts: dict, rules: list[dict] | None = None) -> dict:
    fields: dict = {}
    for part in parts:
        fields.update(part)
    return _object(fields, rules)


def _person(role="申请人", role_en="Applicant") -> dict:
    """Who applies, filled in from their verified account so nobody types it twice."""
    return {
        "applicant_name": _text(f"{role}姓名", f"{role_en}'s name", 30, prefill="real_name"),
        "applicant_id": _id_number(
            f"{role}公民身份号码", f"{role_en}'s ID number", prefill="id_number"
        ),
        "applicant_phone": _text("联系电话", "Mobile phone", 11, pattern=MOBILE, prefill="phone"),
    }


def _company() -> dict:
    return {
        "organisation_name": _text(
            "单位名称", "Name of the organisation", 100, prefill="organisation_name"
        ),
        "uscc": _text(
            "统一社会信用代码", "Unified social credit code", 18, pattern=USCC, prefill="uscc"
        ),
        "contact_name": _text("经办人姓名", "Name of the agent", 30, prefill="real_name"),
        "contact_phone": _text(
            "经办人电话", "Agent's mobile phone", 11, pattern=MOBILE, prefill="phone"
        ),
    }


def _address(
    name="address", zh="联系地址", en="Address", *, postcode=False, optional=False
) -> dict:
    fields = {
        name: _text(
            zh,
            en,
            120,
            optional=optional,
            help=("写明区、街道、路名和门牌号", "District, street and number"),
        )
    }
    if postcode:
        fields["postcode"] = _text("邮政编码", "Postcode", 6, pattern=POSTCODE, optional=optional)
    return fields


def _consent(
    zh="本人承诺所填信息和所交材料真实、有效，如有虚假愿承担相应法律责任。",
    en="I declare that the information and documents are true and complete.",
) -> dict:
    return {"consent": _must(zh, en)}


def _person_rows(zh, en, relations, low=None, high=8) -> dict:
    """Family members, heirs, co-owners ...: name, ID number and relation to the applicant."""
    return _rows(
        zh,
        en,
        {
            "name": _text("姓名", "Name", 30),
            "id_number": _id_number("公民身份号码", "ID number"),
            "relation": _choice("与申请人关系", "Relation to the applicant", relations),
        },
        low,
        high,
    )


RELATIONS = [
    ("spouse", "配偶", "Spouse"),
    ("child", "子女", "Child"),
    ("parent", "父母", "Parent"),
    ("other", "其他", "Other"),
]
SELF_OR_FAMILY = [("self", "本人", "Self"), *RELATIONS]
DELIVERY = [("counter", "窗口领取", "Pick up at the counter"), ("mail", "邮寄到家", "By post")]

# --- Materials -------------------------------------------------------------------------------------


def _upload(
    name,
    name_en,
    *,
    form="electronic",
    optional=False,
    copies=1,
    note="",
    later=False,
    promised=False,
) -> dict:
    """An upload; `later`: it may follow (容缺); `promised`: a signed commitment replaces it."""
    paper = "A4" if form in ("original", "copy", "both") else ""
    return {
        "name": name,
        "name_en": name_en,
        "required": not optional,
        "form": form,
        "copies": copies,
        "paper_format": paper,
        "note": note,
        "note_en": NOTES_EN[note] if note else "",
        "tolerable": later,
        "covered_by_commitment": promised,
    }


def _filled_in(name, name_en) -> dict:
    """The application form itself (申请书/申请表): made from the answers, never uploaded."""
    return {**_upload(name, name_en), "source": "form"}


def _licence(name, name_en, licence_type, *, optional=False, note="") -> dict:
    """Reused from an e-licence already issued: the applicant uploads nothing."""
    return {
        **_upload(name, name_en, optional=optional, note=note),
        "source": "licence",
        "licence_type": licence_type,
    }


def _shared(name, name_en, department, *, note="") -> dict:
    """Data another department shares: checked by the system, not asked of the applicant."""
    return {**_upload(name, name_en, note=note), "source": "shared", "shared_by": department}


INSURANCE_CATEGORIES = [
    ("adult", "成年居民", "Adult"),
    ("student", "中小学生和大学生", "Student"),
    ("newborn", "新生儿", "Newborn"),
    ("senior", "60 周岁以上老年人", "Aged 60 and over"),
]
ID_CARD = ("居民身份证", "Resident identity card", "resident-id-card")
HOUSEHOLD = ("户籍信息", "Household registration data", "city-psb")
INSURANCE_RECORD = ("社会保险参保信息", "Social insurance record", "city-hrss")
SSCARD = ("社会保障卡（金融账户）", "Social security card (bank account)", "social-security-card")

# --- The services ----------------------------------------------------------------------------------

DEFAULTS = {
    "fee_free": True,
    "visits_required": 0,
    "online_depth": 4,
    "office_hours": OFFICE_HOURS,
}
CHANNELS = ("online", "counter", "mail")
DELIVERIES = ("pickup", "mail", "electronic")


# Everyday words citizens search with (ServiceVersion.keywords: "keywords and aliases"), per service.
KEYWORDS = {
    "330100-AMR-DJ-001": "个体户 开店 开个店 开小店 开网店 摆摊 小卖部 便利店 超市 开超市 理发店 做生意 个体营业执照 办执照 办营业执照 个体执照",
    "330100-AMR-DJ-002": "开公司 注册公司 成立公司 办公司 公司注册 新办企业 开办企业 创业 有限公司 公司营业执照",
    "330100-AMR-XK-001": "开饭店 开餐馆 饭店 餐馆 餐厅 餐饮 开奶茶店 奶茶店 小吃店 食品许可证 食品经营许可证 卖食品",
    "330100-AMR-DJ-003": "营业执照变更 执照变更 改名字 换地址 变更法人 换法人 增资 改经营范围",
    "330100-AMR-DJ-006": "个体工商户变更 个体执照变更 换经营场所 换经营者 个体改名",
    "330100-AMR-DJ-004": "小饭店 小吃店 早餐店 面馆 夫妻店 小餐馆 小餐饮登记证",
    "330100-AMR-XK-002": "开药店 药店 药房 卖药 药品许可证",
    "330100-AMR-DJ-005": "公司注销 注销公司 关公司 不做了 企业注销 简易注销",
    "330100-PSB-QR-001": "生孩子 生小孩 新生儿 宝宝落户 上户口 报户口 新生儿落户 出生落户 小孩上户口 出生证明",
    "330100-PSB-QR-002": "换身份证 身份证到期 身份证过期 身份证换证 身份证坏了 身份证换领 二代证 补换身份证",
    "330100-PSB-QR-003": "迁户口 户口迁移 户口转移 挪户口 买房落户 投靠落户 户口迁入",
    "330100-PSB-XK-001": "驾照 驾照到期 驾照过期 换驾照 驾照换证 驾驶证到期 驾驶证换证 驾驶本 期满换证",
    "330100-PSB-QR-004": "销户 注销户口 去世 过世 人走了 死亡登记 身后事",
    "330100-MZ-QR-001": "结婚 领证 结婚证 登记结婚 扯证",
    "330100-MZ-GG-001": "老年卡 老年证 老人卡 敬老卡 老年优待证 优待证 老年人乘车卡 老人免费坐公交",
    "330100-RS-GG-001": "社保卡 办社保卡 社保卡申领 新办社保卡 第三代社保卡 电子社保卡 社会保障卡",
    "330100-RS-GG-002": "新生儿社保卡 宝宝社保卡 小孩社保卡 婴儿社保卡 出生一件事",
    "330100-PSB-BA-001": "刻章 刻公章 印章备案 公章刻制 开办企业一件事",
    "330100-RS-GF-001": "失业金 失业保险 失业补助 领失业金 被裁员 下岗 失业了",
    "330100-RS-GF-002": "丧葬费 丧葬补助 抚恤金 丧葬补贴 遗属",
    "330100-YB-DJ-001": "医保 交医保 办医保 居民医保 新农合 医疗保险 参保",
    "330100-YB-GF-001": "生育报销 生孩子报销 生育津贴 生育保险 产检报销 医保报销",
    "330100-GJJ-GG-001": "提取公积金 公积金提取 取公积金 提公积金 买房提公积金 购房提取 公积金 住房公积金",
    "330100-CL-QR-001": "残疾证 办残疾证 残疾人证 残疾鉴定 残疾评定",
    "330100-ZR-XK-001": "规划许可证 建设工程规划许可证 盖房子 建房许可 工程规划",
    "330100-ZR-DJ-001": "二手房过户 房子过户 过户 房产过户 买二手房 卖房 房产证 房本 不动产证 买房过户",
    "330108-HQ-GG-001": "居住证 暂住证 办居住证 外地人 新市民",
    "330108-WH-GF-001": "高龄补贴 高龄津贴 老人补贴 八十岁补贴 长寿金 高龄老人补助",
    "330110-SL-DJ-001": "养老保险 养老金 交养老保险 居民养老保险 农村养老保险 社保 交社保 养老",
}


# --- English --------------------------------------------------------------------------------------
# The guide in English (ServiceVersion.*_en, ServiceMaterial.note_en). A law keeps its Chinese title
# after the English name, so an English reader can show it at a counter; English pages mark it
# lang="zh-Hans" (portal.templatetags.zh).

OFFICE_HOURS_EN = "Monday to Friday 9:00–12:00 and 13:30–17:00 (closed on public holidays)"
CENTRE_EN = "Demo City Government Service Centre (1 Shimin Road, Binjiang District)"
DESKS_EN = {
    "city-amr": f"{CENTRE_EN}, ground floor, area A, business registration desk",
    "city-psb": f"{CENTRE_EN}, first floor, area B, police desk; or the police station where your household is registered",  # noqa: E501
    "city-civil": "Demo City Marriage Registry (66 Wanghai Road, Binjiang District)",
    "city-hrss": f"{CENTRE_EN}, first floor, area C, human resources and social security desk",
    "city-hsa": f"{CENTRE_EN}, first floor, area D, healthcare security desk",
    "city-hpf": "Demo City Housing Provident Fund Centre, service hall (300 Jiangnan Avenue, Binjiang District)",  # noqa: E501
    "city-dpf": "Demo City Service Centre for Persons with Disabilities, ground floor (12 Kangle Road, Qingshan District)",  # noqa: E501
    "city-nrp": f"{CENTRE_EN}, second floor, real estate registration and planning desk",
    "street-huqiao": "Huqiao Street Service Centre (18 Huqiao Road, Binjiang District)",
    "street-wanghai": "Wanghai Street Service Centre (120 Wanghai Road, Binjiang District)",
    "street-songlin": "Songlin Street Service Centre (45 Songlin Road, Qingshan District)",
}

# Laws and regulations cited below: English name, then the Chinese title.
_MARKET_ENTITIES = "Regulations on the Administration of the Registration of Market Entities (《中华人民共和国市场主体登记管理条例》)"  # noqa: E501
_MARKET_RULES = "Implementing Rules of the Regulations on the Registration of Market Entities (《中华人民共和国市场主体登记管理条例实施细则》)"  # noqa: E501
_COMPANY_LAW = "Company Law of the PRC (《中华人民共和国公司法》)"
_LICENSING_LAW = "Administrative Licensing Law of the PRC (《中华人民共和国行政许可法》)"
_FOOD_SAFETY = "Food Safety Law of the PRC (《中华人民共和国食品安全法》)"
_HOUSEHOLD = "Regulations on Household Registration of the PRC (《中华人民共和国户口登记条例》)"
_SOCIAL_INSURANCE = "Social Insurance Law of the PRC (《中华人民共和国社会保险法》)"
_CIVIL_CODE = "Civil Code of the PRC (《中华人民共和国民法典》)"
_ELDERLY = "Law on the Protection of the Rights and Interests of the Elderly (《中华人民共和国老年人权益保障法》)"  # noqa: E501

ENGLISH = {
    "330100-AMR-DJ-001": {
        "legal_basis_en": f"{_MARKET_ENTITIES}, Articles 2, 3 and 19; Regulations on Promoting the Development of Individual Businesses (《促进个体工商户发展条例》), Article 2; {_MARKET_RULES}",  # noqa: E501
        "conditions_en": "1. The applicant is a natural person able to run a business; for a family business, the family member who runs it is the operator;\n2. The name follows the rules on registering business names;\n3. There are fixed premises, and the activities are not prohibited by law or administrative regulation;\n4. The materials are complete and in the legal form.",  # noqa: E501
        "result_name_en": "Business licence",
    },
    "330100-AMR-DJ-002": {
        "legal_basis_en": f"{_COMPANY_LAW}, Articles 29, 30 and 47; {_MARKET_ENTITIES}, Articles 3, 9 and 19; {_MARKET_RULES}",  # noqa: E501
        "conditions_en": "1. One to fifty shareholders;\n2. The capital all shareholders subscribe is paid in full within five years of incorporation;\n3. The shareholders adopt the articles of association together;\n4. The company has a name and the bodies a limited liability company needs;\n5. The company has a registered address (which may be declared on a signed commitment).",  # noqa: E501
        "result_name_en": "Business licence",
    },
    "330100-AMR-XK-001": {
        "legal_basis_en": f"{_LICENSING_LAW}; {_FOOD_SAFETY}, Article 35; Measures for Food Business Licensing and Filing (《食品经营许可和备案管理办法》, SAMR Order No. 78)",  # noqa: E501
        "conditions_en": "1. The applicant holds a business licence or another legal status;\n2. Premises for handling, processing, selling and storing food that suit the kinds and quantities of food, at the required distance from toxic, harmful or other polluting places;\n3. Equipment or facilities that suit the kinds and quantities of food;\n4. A food safety manager and rules that keep food safe;\n5. A sensible layout of equipment and work flow.",  # noqa: E501
        "result_name_en": "Food business licence",
    },
    "330100-AMR-DJ-006": {
        "legal_basis_en": f"{_MARKET_ENTITIES}, Article 24; Regulations on Promoting the Development of Individual Businesses (《促进个体工商户发展条例》), Article 11; {_MARKET_RULES}",  # noqa: E501
        "conditions_en": "1. A registered individual business holding a valid business licence;\n2. The application is made within 30 days of the change;\n3. The new particulars comply with laws and administrative regulations.",  # noqa: E501
        "result_name_en": "Business licence (replacing the earlier one)",
    },
    "330100-AMR-DJ-003": {
        "legal_basis_en": f"{_MARKET_ENTITIES}, Article 24; {_COMPANY_LAW}, Article 34",
        "conditions_en": "1. The company is registered in this city;\n2. The application is made within 30 days of the resolution, decision or change required by law;\n3. The new particulars comply with laws and administrative regulations.",  # noqa: E501
        "result_name_en": "Business licence",
    },
    "330100-AMR-DJ-004": {
        "legal_basis_en": f"{_FOOD_SAFETY}, Article 36; the provincial regulations on small food workshops, small eateries and food stalls",  # noqa: E501
        "conditions_en": "1. The eatery holds a business licence;\n2. The floor area meets the provincial rules, the premises are away from sources of pollution and have water supply, drainage and fume extraction;\n3. The staff hold valid health certificates;\n4. No high-risk food such as raw seafood or decorated cream cakes is made or sold.",  # noqa: E501
        "result_name_en": "Small eatery registration certificate",
    },
    "330100-AMR-XK-002": {
        "legal_basis_en": f"{_LICENSING_LAW}; Drug Administration Law of the PRC (《中华人民共和国药品管理法》), Articles 51 and 52; Measures for the Supervision of the Quality of Drug Distribution and Use (《药品经营和使用质量监督管理办法》, SAMR Order No. 84)",  # noqa: E501
        "conditions_en": "1. A licensed pharmacist or other qualified pharmaceutical staff;\n2. Premises, equipment, storage and hygiene that suit the drugs sold;\n3. A quality management unit or staff that suit the drugs sold;\n4. Rules that ensure the quality of drugs and meet Good Supply Practice.",  # noqa: E501
        "result_name_en": "Drug business licence",
    },
    "330100-AMR-DJ-005": {
        "legal_basis_en": f"{_MARKET_ENTITIES}, Article 33; {_COMPANY_LAW}, Article 240",
        "conditions_en": "1. The company has no debts or claims, or has settled them all;\n2. Liquidation costs, wages, social insurance, statutory compensation and taxes are paid;\n3. The deregistration was published for 20 days on the National Enterprise Credit Information Publicity System without objection;\n4. The licence has not been revoked, the company has not been ordered to close and is not on the list of serious offenders.",  # noqa: E501
        "result_name_en": "Notice approving the simplified deregistration",
    },
    "330100-PSB-QR-001": {
        "legal_basis_en": f"{_HOUSEHOLD}, Article 7; {_CIVIL_CODE}, Article 15",
        "conditions_en": "1. Registered within one month of the birth (a late registration explains why);\n2. One parent is registered in this city; the child is registered where the father or the mother lives;\n3. The Medical Certificate of Birth (《出生医学证明》) is held.",  # noqa: E501
        "result_name_en": "Household register (the newborn's page)",
    },
    "330100-PSB-QR-002": {
        "legal_basis_en": "Resident Identity Card Law of the PRC (《中华人民共和国居民身份证法》), Articles 8, 11 and 20",  # noqa: E501
        "conditions_en": "1. The card has expired (apply up to three months before), is too damaged to read, or a registered particular such as the name has changed;\n2. You come in person to have your photo and fingerprints taken;\n3. The legal time limit is 60 days; this city promises 15 working days.",  # noqa: E501
        "fee_standard_en": "20 yuan per resident identity card; 10 yuan per temporary card.",
        "fee_basis_en": "Resident Identity Card Law of the PRC (《中华人民共和国居民身份证法》), Article 20; Notice of the NDRC and the Ministry of Finance on the fees for resident identity cards (发改价格〔2003〕2322号)",  # noqa: E501
        "result_name_en": "Resident identity card",
    },
    "330100-PSB-QR-003": {
        "legal_basis_en": f"{_HOUSEHOLD}, Article 10; the Demo City rules on moving household registration",  # noqa: E501
        "conditions_en": "1. The person moving is registered in this city;\n2. They have a lawful fixed home where they move to, or the owner of the home agrees to register them;\n3. Only close relatives living together (spouse, minor children) may move with them.",  # noqa: E501
        "result_name_en": "Notice of approval (new page of the household register)",
    },
    "330100-PSB-XK-001": {
        "legal_basis_en": "Road Traffic Safety Law of the PRC (《中华人民共和国道路交通安全法》), Articles 19 and 23; Provisions on Applying for and Using Motor Vehicle Driving Licences (《机动车驾驶证申领和使用规定》, Ministry of Public Security Order No. 162)",  # noqa: E501
        "conditions_en": "1. Apply within 90 days before the licence expires;\n2. Your health meets the conditions for driving (from the age of 70 with a certificate of physical condition);\n3. The licence is not seized or suspended, and no traffic offence or accident is outstanding.",  # noqa: E501
        "fee_standard_en": "10 yuan per driving licence; postage is charged by the postal service at its standard rate.",  # noqa: E501
        "fee_basis_en": "Notice of the NDRC and the Ministry of Finance on the fees of public security authorities (发改价格〔2004〕2831号)",  # noqa: E501
        "result_name_en": "Driving licence",
    },
    "330100-PSB-QR-004": {
        "legal_basis_en": f"{_HOUSEHOLD}, Article 8",
        "conditions_en": "1. The deceased was registered in this city;\n2. Report before the burial in a town, or within one month in the countryside;\n3. A medical certificate of death or another proof of death is held.",  # noqa: E501
        "result_name_en": "Certificate of cancelled household registration",
    },
    "330100-MZ-QR-001": {
        "legal_basis_en": f"{_CIVIL_CODE}, Articles 1046 to 1049; Regulations on Marriage Registration (《婚姻登记条例》)",  # noqa: E501
        "conditions_en": "1. Both partners marry of their own free will;\n2. The man is at least 22 and the woman at least 20 years old;\n3. Neither is married;\n4. They are not related by blood in direct line or collaterally within three generations;\n5. Both come in person and sign the declaration for marriage registration.",  # noqa: E501
        "result_name_en": "Marriage certificate",
        "office_hours_en": "Monday to Friday 9:00–12:00 and 13:30–17:00; longer hours on special dates such as 20 May and Qixi are announced in advance",  # noqa: E501
    },
    "330100-MZ-GG-001": {
        "legal_basis_en": f"{_ELDERLY}, Chapter 5 “Social preferential treatment”; the provincial and city measures on preferential treatment of older people",  # noqa: E501
        "conditions_en": "1. Aged 60 or over;\n2. Registered in this city, or living here with a Demo City residence permit.",
        "result_name_en": "Senior citizen's card",
    },
    "330100-RS-GG-001": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Article 58",
        "conditions_en": "1. You are insured in this city or about to be;\n2. You hold no valid Demo City social security card;\n3. A guardian applies for a child under 16.",  # noqa: E501
        "result_name_en": "Social security card",
    },
    "330100-RS-GG-002": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Article 58",
        "conditions_en": "1. The child's birth is registered in this city;\n2. A parent or other guardian applies;\n3. The child holds no Demo City social security card.",  # noqa: E501
        "result_name_en": "Social security card (newborn)",
    },
    "330100-PSB-BA-001": {
        "legal_basis_en": "Provisional Rules on the Seal and Engraving Trade (《印铸刻字业暂行管理规则》), Article 5; State Council Decision on the third batch of licensing items cancelled (国发〔2017〕7号)",  # noqa: E501
        "conditions_en": "1. The business holds its business licence;\n2. The operator applies in person;\n3. The seal is made by a recorded seal maker.",  # noqa: E501
        "result_name_en": "Seal record receipt",
    },
    "330100-RS-GF-001": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Articles 45 and 50; Regulations on Unemployment Insurance (《失业保险条例》), Article 14; Measures for Claiming and Paying Unemployment Insurance Benefit (《失业保险金申领发放办法》)",  # noqa: E501
        "conditions_en": "1. You and your employer paid unemployment insurance for at least one year before you lost your job;\n2. You lost your job against your will;\n3. You have registered as unemployed and are looking for work.",  # noqa: E501
        "result_name_en": "Notice of the unemployment benefit granted",
    },
    "330100-RS-GF-002": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Article 17",
        "conditions_en": "1. The deceased was insured in the Demo City employees' basic pension insurance;\n2. The death was from illness or not work-related;\n3. The applicant is a close relative of the deceased (spouse, child or parent);\n4. The household registration of the deceased has been cancelled.",  # noqa: E501
        "result_name_en": "Notice of the funeral grant and survivors' benefit",
    },
    "330100-YB-DJ-001": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Article 25; Opinions of the State Council on integrating the basic medical insurance of urban and rural residents (国发〔2016〕3号)",  # noqa: E501
        "conditions_en": "1. Registered in this city or holding a Demo City residence permit, and not in the employees' basic medical insurance;\n2. A newborn enrolled within 90 days of birth is covered from the day of birth;\n3. Students may enrol through their school or by themselves.",  # noqa: E501
        "result_name_en": "Proof of enrolment",
    },
    "330100-YB-GF-001": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Articles 53, 54 and 55",
        "conditions_en": "1. At the birth you were insured in the Demo City employees' maternity insurance or the residents' basic medical insurance;\n2. The costs could not be settled directly at the hospital;\n3. You apply within 12 months of the birth.",  # noqa: E501
        "result_name_en": "Statement of reimbursed maternity costs",
    },
    "330100-GJJ-GG-001": {
        "legal_basis_en": "Regulations on the Administration of Housing Provident Funds (《住房公积金管理条例》), Article 24(1)(i) and Article 25",  # noqa: E501
        "conditions_en": "1. You buy a home to live in, in this city or where your household is registered;\n2. The purchase contract is filed online, or the real estate title certificate has been issued;\n3. The amount does not exceed the price less any loan, nor the balance of your and your spouse's accounts;\n4. You apply within one year of the registration of the title.",  # noqa: E501
        "result_name_en": "Decision approving the withdrawal",
    },
    "330100-CL-QR-001": {
        "legal_basis_en": "Law on the Protection of Persons with Disabilities (《中华人民共和国残疾人保障法》), Article 2; Measures for the Administration of Disability Certificates (《中华人民共和国残疾人证管理办法》); Classification and Grading of Disabilities (《残疾人残疾分类和分级》, GB/T 26341—2010)",  # noqa: E501
        "conditions_en": "1. Registered in this city, or holding a Demo City residence permit;\n2. The disability meets the national standard Classification and Grading of Disabilities and is relatively stable;\n3. You (with your guardian if needed) are assessed at a designated hospital.",  # noqa: E501
        "result_name_en": "Disability certificate of the PRC",
    },
    "330100-ZR-XK-001": {
        "legal_basis_en": "Urban and Rural Planning Law of the PRC (《中华人民共和国城乡规划法》), Article 40; "
        f"{_LICENSING_LAW}, Article 42",  # noqa: E501
        "conditions_en": "1. The right to use the construction land has been obtained lawfully;\n2. The design meets the detailed regulatory plan and the planning conditions;\n3. The applicant is the developer.",  # noqa: E501
        "result_name_en": "Construction planning permit",
    },
    "330100-ZR-DJ-001": {
        "legal_basis_en": f"{_CIVIL_CODE}, Articles 209 and 214; Interim Regulations on Real Estate Registration (《不动产登记暂行条例》), Articles 3, 14 and 20; their Implementing Rules (《不动产登记暂行条例实施细则》)",  # noqa: E501
        "conditions_en": "1. The home has a real estate title certificate and no seizure, objection or other restriction; a mortgagee has agreed to the sale;\n2. Buyer and seller apply together (an agent may act for them);\n3. The sale contract is filed online and the taxes are paid.",  # noqa: E501
        "fee_standard_en": "80 yuan per registration of a home (including the first certificate), 10 yuan for each further certificate; 550 yuan for other real estate. Paid by the buyer.",  # noqa: E501
        "fee_basis_en": "Notice of the NDRC and the Ministry of Finance on the fees for real estate registration (发改价格规〔2016〕2559号); Notice of the Ministry of Finance and the NDRC on policy questions of real estate registration fees (财税〔2016〕79号)",  # noqa: E501
        "result_name_en": "Real estate title certificate",
    },
    "330108-HQ-GG-001": {
        "legal_basis_en": "Interim Regulations on Residence Permits (《居住证暂行条例》, State Council Order No. 663), Articles 2 and 9",  # noqa: E501
        "conditions_en": "1. You left the place of your household registration and have lived in this city for more than six months;\n2. You have one of: stable lawful work, a stable lawful home, or continuous study;\n3. You have registered your residence here.",  # noqa: E501
        "result_name_en": "Residence permit",
    },
    "330108-WH-GF-001": {
        "legal_basis_en": f"{_ELDERLY}, Article 33; the Demo City measures on the old-age allowance",
        "conditions_en": "1. Registered in this city, in this street office's area;\n2. Aged 80 or over;\n3. You or a family member apply; the allowance is paid from the month after approval.",  # noqa: E501
        "result_name_en": "Notice of the old-age allowance granted",
    },
    "330110-SL-DJ-001": {
        "legal_basis_en": f"{_SOCIAL_INSURANCE}, Articles 20 and 22; Opinions of the State Council on a unified basic pension insurance for urban and rural residents (国发〔2014〕8号)",  # noqa: E501
        "conditions_en": "1. Aged 16 or over (students excepted);\n2. Not working for a state organ or public institution, and not covered by the employees' basic pension insurance;\n3. You enrol where your household is registered.",  # noqa: E501
        "result_name_en": "Proof of enrolment",
    },
}

# Notes on materials, by their Chinese text.
NOTES_EN = {
    "可容缺受理，领照前补交。": "May follow later (容缺): hand it in before you collect the licence.",
    "可使用系统提供的章程范本。": "You may use the model articles the portal offers.",
    "选择住所告知承诺的，无需提交。": "Not needed if you sign the commitment on the address (告知承诺).",
    "选择告知承诺的，无需提交，事后核查。": "Not needed if you sign the commitment (告知承诺); checked afterwards.",
    "可容缺受理，受理后 5 个工作日内补交。": "May follow later (容缺): within 5 working days of acceptance.",
    "变更住所时提交。": "When the address changes.",
    "核准注销后电子营业执照同步作废。": "The electronic business licence is cancelled with the deregistration.",
    "非婚生育的无需提交。": "Not needed if the parents are not married.",
    "核验父母户籍，无需提交户口簿。": "The parents' registration is checked: no household register to hand in.",
    "遗失的请办理补领。": "If the card is lost, apply for a replacement instead.",
    "可在受理点现场拍摄。": "The photo can be taken at the desk.",
    "投靠亲属落户时提交。": "When you register with a relative.",
    "配偶随迁时调用。": "Taken from the e-licence when the spouse moves too.",
    "由医疗机构出具，可电子传递。": "Issued by a medical institution, which may send it electronically.",
    "无法交回的请说明情况。": "If it cannot be returned, explain why.",
    "核验申报人与死者的关系。": "Checks the relation of the applicant to the deceased.",
    "现场核验原件。": "The originals are checked at the desk.",
    "2 寸红底。": "Two-inch photo on a red background.",
    "不提交的调用身份证照片。": "Without one, the photo of the identity card is used.",
    "白底，JPG 格式。": "White background, JPEG.",
    "为未成年人申请时提交。": "When you apply for a child.",
    "核验失业保险缴费年限。": "Checks the years of unemployment insurance paid.",
    "非本市户籍人员调用。": "Taken from the e-licence for people registered elsewhere.",
    "新生儿参保时提交。": "When you enrol a newborn.",
    "未满 16 周岁的可不提交。": "Not needed for a child under 16.",
    "电子票据可直接上传。": "Electronic receipts can be uploaded as they are.",
    "尚未办证的提交购房合同和发票。": "Without a certificate yet, upload the purchase contract and the invoice.",
    "同时提取配偶公积金时调用。": "Taken from the e-licence when the spouse's fund is withdrawn too.",
    "由指定评定机构出具。": "Issued by the designated assessment body.",
    "可容缺受理，开工前补齐。": "May follow later (容缺): complete before construction starts.",
    "网签合同系统自动调取。": "The contract filed online is fetched automatically.",
    "一窗办理的由税务部门推送。": "Sent by the tax office when handled at the same desk.",
    "以稳定就业为依据时核验。": "Checked when stable work is the ground.",
    "以连续就读为依据时提交。": "When continuous study is the ground.",
    "核验年龄和户籍地。": "Checks age and place of registration.",
    "家属代办时提交。": "When a family member applies for you.",
    "核验未参加职工基本养老保险。": "Checks that you are not in the employees' basic pension insurance.",
}


def _services() -> list[dict]:
    """Every demo service. Keys beyond ServiceVersion's fields: code, department, limits (statutory,
    promised), channels / delivery (words), result (type, name, licence type), materials, events,
    form, workflow ("standard" or "simple": without the review stage)."""
    # fmt: off
    return [
        # --- 市场监督管理局 -----------------------------------------------------------------------
        {
            "code": "330100-AMR-DJ-001", "department": "city-amr", "kind": "registration", "audience": "person",
            "name": "个体工商户设立登记", "name_en": "Registering an individual business",
            "summary": "自然人从事工商业经营，依法办理个体工商户设立登记，领取营业执照。全程网办，电子营业执照即时生成。",
            "summary_en": "A natural person who runs a small business registers it and receives a business licence, entirely online with an electronic licence.",
            "legal_basis": "《中华人民共和国市场主体登记管理条例》第二条、第三条、第十九条；《促进个体工商户发展条例》第二条；《中华人民共和国市场主体登记管理条例实施细则》",
            "conditions": "1. 申请人为具有经营能力的自然人，家庭经营的以主持经营者为经营者；\n2. 名称符合企业名称登记管理规定；\n3. 有固定经营场所，经营范围不属于法律、行政法规禁止的项目；\n4. 申请材料齐全、符合法定形式。",
            "limits": (3, 1), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "营业执照", "business-licence"), "allows_tolerance": True, "events": ["starting-a-business", "employment"],
            "materials": [
                _filled_in("个体工商户登记（备案）申请书", "Application form (filled in online)"),
                _licence("经营者身份证明", "Operator's identity document", ID_CARD[2]),
                _upload("经营场所使用证明（租赁合同或产权证明）", "Proof of the right to use the premises", form="copy", note="可容缺受理，领照前补交。", later=True),
            ],
            "form": _form(
                _person("经营者", "Operator"),
                {
                    "business_name": _text("个体工商户名称", "Business name", 60, help=("行政区划＋字号＋行业＋组织形式，如“示范市滨江区小明便利店”", "Place, trade name, trade and form")),
                    "operation": _choice("组成形式", "Form of operation", [("personal", "个人经营", "Run by one person"), ("family", "家庭经营", "Run by a family")]),
                },
                _address("premises", "经营场所", "Business premises", postcode=True),
                {
                    "business_scope": _text("经营范围", "Business activities", 500, textarea=True),
                    "staff_count": _int("从业人数", "Number of workers", 1, 999),
                    "capital": _number("资金数额（万元）", "Capital (10,000 yuan)", 100000, optional=True),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-DJ-006", "department": "city-amr", "kind": "registration", "audience": "person",
            "name": "个体工商户变更登记", "name_en": "Changing the registration of an individual business",
            "summary": "个体工商户的名称、经营者、组成形式、经营场所或经营范围发生变化的，应当申请变更登记，换发营业执照；原营业执照同时作废。",
            "summary_en": "When an individual business changes its name, operator, form of operation, premises or activities, it registers the change and gets a new licence, which replaces the old one.",
            "legal_basis": "《中华人民共和国市场主体登记管理条例》第二十四条；《促进个体工商户发展条例》第十一条；《中华人民共和国市场主体登记管理条例实施细则》",
            "conditions": "1. 已登记的个体工商户，持有有效的营业执照；\n2. 自登记事项变化之日起 30 日内申请；\n3. 变更后的事项符合法律、行政法规的规定。",
            "limits": (3, 1), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "营业执照", "business-licence"), "replaces_licence": True, "events": ["starting-a-business"],
            "materials": [
                _filled_in("个体工商户变更登记申请书", "Application form (filled in online)"),
                _licence("营业执照", "Business licence", "business-licence"),
                _licence("经营者身份证明", "Operator's identity document", ID_CARD[2]),
                _upload("新经营场所使用证明", "Proof of the right to use the new premises", form="copy", optional=True, note="变更住所时提交。"),
            ],
            "form": _form(
                _person("经营者", "Operator"),
                {
                    "business_name": _text("个体工商户名称（变更后）", "Business name (after the change)", 60),
                    "operation": _choice("组成形式（变更后）", "Form of operation (after the change)", [("personal", "个人经营", "Run by one person"), ("family", "家庭经营", "Run by a family")]),
                },
                _address("premises", "经营场所（变更后）", "Business premises (after the change)", postcode=True),
                {
                    "business_scope": _text("经营范围（变更后）", "Business activities (after the change)", 500, textarea=True),
                    "change_reason": _text("变更事项及原因", "What changes, and why", 300, textarea=True),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-DJ-002", "department": "city-amr", "kind": "registration", "audience": "both",
            "name": "有限责任公司设立登记", "name_en": "Registering a limited liability company",
            "summary": "设立有限责任公司，申请名称自主申报、设立登记、公章刻制、税务登记等“一件事”联办，领取营业执照。",
            "summary_en": "Registering a new limited liability company, with name, seal and tax registration handled together; the result is a business licence.",
            "legal_basis": "《中华人民共和国公司法》第二十九条、第三十条、第四十七条；《中华人民共和国市场主体登记管理条例》第三条、第九条、第十九条；《中华人民共和国市场主体登记管理条例实施细则》",
            "conditions": "1. 股东为一个以上五十个以下；\n2. 全体股东认缴的出资额应当自公司成立之日起五年内缴足；\n3. 股东共同制定公司章程；\n4. 有公司名称，建立符合有限责任公司要求的组织机构；\n5. 有公司住所（实行住所告知承诺制）。",
            "limits": (3, 1), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "营业执照", "business-licence"), "allows_tolerance": True, "allows_commitment": True, "events": ["starting-a-business"],
            "materials": [
                _filled_in("公司登记（备案）申请书", "Company registration application form"),
                _upload("公司章程", "Articles of association", note="可使用系统提供的章程范本。"),
                _shared("自然人股东身份信息", "Identity data of natural-person shareholders", "city-psb"),
                _upload("法定代表人、董事、监事和经理的任职文件", "Appointment of the legal representative, directors, supervisors and manager"),
                _upload("住所使用证明", "Proof of the registered address", form="copy", note="选择住所告知承诺的，无需提交。", promised=True),
            ],
            "form": _form(
                _person("经办人", "Agent"),
                {
                    "company_name": _text("公司名称（拟）", "Proposed company name", 60, help=("应含“有限公司”或“有限责任公司”字样", "Must end in 有限公司 or 有限责任公司")),
                    "registered_capital": _number("注册资本（万元）", "Registered capital (10,000 yuan)", 1000000),
                    "legal_representative": _text("法定代表人", "Legal representative", 30),
                },
                _address("domicile", "公司住所", "Registered address", postcode=True),
                {
                    "business_scope": _text("经营范围", "Business activities", 1000, textarea=True),
                    "shareholders": _rows(
                        "股东及出资",
                        "Shareholders and their contributions",
                        {
                            "kind": _choice("股东类型", "Kind of shareholder", [("person", "自然人", "Natural person"), ("organisation", "法人或其他组织", "Organisation")]),
                            "name": _text("股东名称或姓名", "Shareholder", 100),
                            "id_number": _id_number("公民身份号码", "ID number"),
                            "uscc": _text("统一社会信用代码", "Unified social credit code", 18, pattern=USCC),
                            "amount": _number("认缴出资额（万元）", "Subscribed (10,000 yuan)", 1000000),
                            "method": _choice("出资方式", "Form of contribution", [("cash", "货币", "Cash"), ("in_kind", "实物", "In kind"), ("ip", "知识产权", "Intellectual property"), ("land", "土地使用权", "Land-use right")]),
                            "due_date": _date("认缴出资期限", "Contribution due by"),
                        },
                        1,
                        50,
                        rules=[_when("kind", "person", require=["id_number"]), _when("kind", "organisation", require=["uscc"])],
                        help=("认缴出资期限不得超过公司成立之日起五年", "Contributions are due within five years"),
                    ),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-XK-001", "department": "city-amr", "kind": "licensing", "audience": "organisation",
            "name": "食品经营许可（新办）", "name_en": "Food business licence (new)",
            "summary": "从事食品销售和餐饮服务活动，应当依法取得食品经营许可。可选择告知承诺方式办理，材料齐全的当场发证、事后核查。",
            "summary_en": "Selling food or running catering needs a food business licence. On a signed commitment it is issued at once and checked afterwards.",
            "legal_basis": "《中华人民共和国行政许可法》；《中华人民共和国食品安全法》第三十五条；《食品经营许可和备案管理办法》（国家市场监督管理总局令第78号）",
            "conditions": "1. 已取得营业执照等合法主体资格；\n2. 具有与经营的食品品种、数量相适应的食品原料处理和食品加工、销售、贮存等场所，并与有毒、有害场所以及其他污染源保持规定的距离；\n3. 具有与经营的食品品种、数量相适应的经营设备或者设施；\n4. 配备食品安全管理人员，有保证食品安全的规章制度；\n5. 具有合理的设备布局和工艺流程。",
            "limits": (10, 5), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "食品经营许可证", "food-business-licence"), "allows_tolerance": True, "allows_commitment": True, "events": ["starting-a-business"],
            "materials": [
                _filled_in("食品经营许可申请书", "Application form"),
                _licence("营业执照", "Business licence", "business-licence"),
                _shared("法定代表人身份信息", "Identity data of the legal representative", "city-psb"),
                _upload("主要设备设施布局、操作流程等文件", "Layout of equipment and work flow", note="选择告知承诺的，无需提交，事后核查。", promised=True),
                _upload("食品安全管理制度目录", "Food safety rules (list)", note="可容缺受理，受理后 5 个工作日内补交。", later=True),
            ],
            "form": _form(
                _company(),
                _address("premises", "经营场所", "Business premises", postcode=True),
                {
                    "operator_type": _choice("主体业态", "Type of operator", [("sales", "食品销售经营者", "Food retailer"), ("catering", "餐饮服务经营者", "Catering"), ("canteen", "单位食堂", "Canteen")]),
                    "items": _text("经营项目", "Food categories", 300, textarea=True, help=("如：预包装食品销售、热食类食品制售", "e.g. pre-packaged food, hot meals")),
                    "area": _number("经营场所面积（平方米）", "Floor area (m²)", 100000),
                    "safety_manager": _text("食品安全管理人员", "Food safety manager", 30),
                    "safety_manager_phone": _text("食品安全管理人员电话", "Food safety manager's phone", 11, pattern=MOBILE),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-DJ-003", "department": "city-amr", "kind": "registration", "audience": "organisation",
            "name": "营业执照变更登记", "name_en": "Changing the particulars on a business licence",
            "summary": "公司名称、住所、经营范围、法定代表人、注册资本等登记事项发生变化的，应当申请变更登记，换发营业执照。",
            "summary_en": "When a company's name, address, activities, legal representative or capital change, it registers the change and gets a new licence.",
            "legal_basis": "《中华人民共和国市场主体登记管理条例》第二十四条；《中华人民共和国公司法》第三十四条",
            "conditions": "1. 已在本市登记的公司；\n2. 自作出变更决议、决定或者法定变更事项发生之日起 30 日内申请；\n3. 变更后的事项符合法律、行政法规的规定。",
            "limits": (3, 1), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "营业执照", "business-licence"), "events": ["starting-a-business"],
            "materials": [
                _filled_in("公司变更登记申请书", "Application form"),
                _licence("营业执照", "Business licence", "business-licence"),
                _upload("股东会决议或者股东决定", "Shareholders' resolution or decision"),
                _upload("新住所使用证明", "Proof of the new address", form="copy", optional=True, note="变更住所时提交。"),
            ],
            "form": _form(
                _company(),
                {
                    "change_item": _choice("变更事项", "What changes", [("name", "名称", "Name"), ("domicile", "住所", "Address"), ("scope", "经营范围", "Business activities"), ("legal_rep", "法定代表人", "Legal representative"), ("capital", "注册资本", "Registered capital")]),
                    "before": _text("变更前内容", "Before", 500, textarea=True),
                    "after": _text("变更后内容", "After", 500, textarea=True),
                    "decided_on": _date("决议（决定）日期", "Date of the resolution"),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-DJ-004", "department": "city-amr", "kind": "registration", "audience": "both",
            "name": "小餐饮登记", "name_en": "Registering a small eatery",
            "summary": "经营面积较小、从业人员较少的小餐饮店，在取得营业执照后办理小餐饮登记，领取小餐饮登记证后方可经营。",
            "summary_en": "A small eatery registers with market regulation after getting its business licence and may open once it holds the registration certificate.",
            "legal_basis": "《中华人民共和国食品安全法》第三十六条；本省食品小作坊、小餐饮店和食品摊贩管理地方性法规",
            "conditions": "1. 已取得营业执照；\n2. 经营场所面积符合本省规定，远离污染源，具备给排水和油烟净化设施；\n3. 从业人员持有有效健康证明；\n4. 不制售生食类水产品、裱花蛋糕等高风险食品。",
            "limits": (10, 3), "channels": "online counter", "delivery": "pickup electronic",
            "result": ("other", "小餐饮登记证", None), "allows_tolerance": True, "events": ["starting-a-business", "employment"],
            "materials": [
                _filled_in("小餐饮登记申请表", "Application form"),
                _licence("营业执照", "Business licence", "business-licence"),
                _upload("从业人员健康证明", "Health certificates of the staff", form="copy"),
                _upload("经营场所平面布局图", "Floor plan of the premises"),
            ],
            "form": _form(
                _person("经营者", "Operator"),
                {"shop_name": _text("店铺名称", "Shop name", 60, help=("与招牌一致", "As on the sign"))},
                _address("premises", "经营场所", "Premises"),
                {
                    "area": _number("经营面积（平方米）", "Floor area (m²)", 200),
                    "service": _choice("经营方式", "Service", [("dine_in", "堂食", "Eat in"), ("takeaway", "外卖", "Takeaway"), ("both", "堂食和外卖", "Both")]),
                    "staff": _rows(
                        "从业人员",
                        "Staff",
                        {
                            "name": _text("姓名", "Name", 30),
                            "id_number": _id_number("公民身份号码", "ID number"),
                            "health_certificate": _text("健康证明编号", "Health certificate number", 30),
                            "valid_until": _date("健康证明有效期至", "Health certificate valid until"),
                        },
                        1,
                        10,
                    ),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-XK-002", "department": "city-amr", "kind": "licensing", "audience": "organisation",
            "name": "药品经营许可（零售）", "name_en": "Drug retail licence",
            "summary": "开办药品零售企业（药店），应当取得药品经营许可证。受理后组织现场检查，符合条件的发证。",
            "summary_en": "Opening a pharmacy needs a drug business licence; the premises are inspected after intake.",
            "legal_basis": "《中华人民共和国行政许可法》；《中华人民共和国药品管理法》第五十一条、第五十二条；《药品经营和使用质量监督管理办法》（国家市场监督管理总局令第84号）",
            "conditions": "1. 有依法经过资格认定的药师或者其他药学技术人员；\n2. 有与所经营药品相适应的营业场所、设备、仓储设施和卫生环境；\n3. 有与所经营药品相适应的质量管理机构或者人员；\n4. 有保证药品质量的规章制度，并符合药品经营质量管理规范要求。",
            "limits": (20, 10), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "药品经营许可证", "drug-business-licence"), "events": ["starting-a-business"],
            "materials": [
                _filled_in("药品经营许可证申请表", "Application form"),
                _licence("营业执照", "Business licence", "business-licence"),
                _upload("执业药师注册证", "Licensed pharmacist's registration certificate", form="copy"),
                _upload("营业场所和仓库平面布局图", "Floor plan of the shop and storage"),
                _upload("质量管理文件目录", "Quality management documents (list)", optional=True),
            ],
            "form": _form(
                _company(),
                _address("premises", "营业场所", "Shop address", postcode=True),
                {
                    "area": _number("营业面积（平方米）", "Floor area (m²)", 10000),
                    "scope": _choice("经营范围", "Drugs sold", [("otc", "甲类、乙类非处方药", "Over-the-counter drugs"), ("rx", "处方药、甲类和乙类非处方药", "Prescription and over-the-counter drugs")]),
                    "pharmacist": _text("执业药师姓名", "Licensed pharmacist", 30),
                    "pharmacist_number": _text("执业药师注册证编号", "Pharmacist's registration number", 30),
                    "chain_store": _flag("连锁门店", "Part of a pharmacy chain"),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-AMR-DJ-005", "department": "city-amr", "kind": "registration", "audience": "organisation",
            "name": "企业简易注销登记", "name_en": "Simplified deregistration of a company",
            "summary": "未发生债权债务或者已清偿完结的企业，经全体投资人承诺并公示 20 日无异议的，可以简易程序注销登记。",
            "summary_en": "A company without debts may be struck off by simplified procedure after all investors sign a commitment and 20 days of public notice.",
            "legal_basis": "《中华人民共和国市场主体登记管理条例》第三十三条；《中华人民共和国公司法》第二百四十条",
            "conditions": "1. 未发生债权债务或者已将债权债务清偿完结；\n2. 已结清清偿费用、职工工资、社会保险费用、法定补偿金、应缴纳税款；\n3. 经国家企业信用信息公示系统公示 20 日，期间无异议；\n4. 未被吊销营业执照、责令关闭、撤销，未被列入严重违法失信名单。",
            "limits": (3, 1), "channels": "online", "delivery": "electronic",
            "result": ("approval", "准予简易注销登记通知书", None), "allows_commitment": True, "events": ["starting-a-business"],
            "materials": [
                _filled_in("注销登记申请书", "Application form"),
                _upload("全体投资人承诺书", "Commitment signed by all investors"),
                _licence("营业执照", "Business licence", "business-licence", note="核准注销后电子营业执照同步作废。"),
            ],
            "form": _form(
                _company(),
                {
                    "notice_from": _date("公示开始日期", "Public notice started on"),
                    "reason": _choice("注销原因", "Reason", [("dissolved", "股东决定解散", "Dissolved by the shareholders"), ("term", "营业期限届满", "Term expired"), ("other", "其他", "Other")]),
                },
                _consent("全体投资人承诺：企业不存在未结清的债权债务，承诺不实的依法承担责任。", "All investors declare that the company has no outstanding debts."),
            ),
        },
        # --- 公安局 --------------------------------------------------------------------------------
        {
            "code": "330100-PSB-QR-001", "department": "city-psb", "kind": "confirmation", "audience": "person",
            "name": "出生登记", "name_en": "Registering a birth (household registration)",
            "summary": "新生儿出生后一个月内，由父母等申报出生登记、办理落户。“出生一件事”可同步申领社会保障卡、办理医保参保。",
            "summary_en": "Within a month of a birth, parents register the child in the household register; social security card and health insurance can follow in one go.",
            "legal_basis": "《中华人民共和国户口登记条例》第七条；《中华人民共和国民法典》第十五条",
            "conditions": "1. 婴儿出生后一个月以内申报（逾期的应说明情况）；\n2. 父母一方为本市户籍居民，随父或者随母在其常住户口所在地落户；\n3. 持有《出生医学证明》。",
            "limits": (5, 1), "channels": "online counter", "delivery": "pickup mail",
            "result": ("other", "居民户口簿（新生儿落户）", None), "events": ["birth", "marriage-and-children"],
            "materials": [
                _upload("出生医学证明", "Medical birth certificate", form="original"),
                _licence("父母结婚证", "Parents' marriage certificate", "marriage-certificate", optional=True, note="非婚生育的无需提交。"),
                _shared(*HOUSEHOLD, note="核验父母户籍，无需提交户口簿。"),
            ],
            "form": _form(
                _person("申报人", "Declarant"),
                {
                    "child_name": _text("新生儿姓名", "Child's name", 20),
                    "child_sex": _choice("性别", "Sex", [("male", "男", "Male"), ("female", "女", "Female")]),
                    "birth_date": _date("出生日期", "Date of birth"),
                    "birth_place": _text("出生地（医疗机构）", "Place of birth (hospital)", 60),
                    "certificate_number": _text("出生医学证明编号", "Birth certificate number", 10, pattern=r"^[A-Z][0-9]{9}$", help=("一位大写字母加九位数字", "One capital letter and nine digits")),
                    "register_with": _choice("随父或随母落户", "Registered with", [("father", "随父", "Father"), ("mother", "随母", "Mother")]),
                    "relation": _choice("申报人与新生儿关系", "Declarant is the child's", [("father", "父亲", "Father"), ("mother", "母亲", "Mother"), ("other", "其他监护人", "Other guardian")]),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-PSB-BA-001", "department": "city-psb", "kind": "other", "audience": "person",
            "name": "个体工商户印章刻制备案", "name_en": "Recording the seal of an individual business",
            "summary": "个体工商户领取营业执照后刻制印章，由经营者办理印章刻制备案。“开办企业一件事”中，营业执照核发后自动提交，执照编号自动带入。",
            "summary_en": "Once an individual business holds its licence, the operator records the seal it has made. In “Starting a business” it is filed by itself once the licence is issued, with the licence number filled in.",
            "legal_basis": "《印铸刻字业暂行管理规则》第五条；《国务院关于第三批取消中央指定地方实施行政许可事项的决定》（国发〔2017〕7号）",
            "conditions": "1. 已领取营业执照；\n2. 由经营者本人申请；\n3. 选择已备案的印章刻制企业刻制。",
            "limits": (3, 1), "channels": "online counter", "delivery": "pickup",
            "result": ("other", "印章刻制备案回执", None), "events": ["starting-a-business"],
            "materials": [
                _filled_in("印章刻制备案申请表", "Application form (filled in online)"),
                _licence("经营者身份证明", "Operator's identity document", ID_CARD[2]),
            ],
            "form": _form(
                _person("经营者", "Operator"),
                {
                    "business_name": _text("个体工商户名称", "Business name", 60),
                    "licence_number": _text("营业执照编号", "Business licence number", 100, help=("营业执照上的编号；“开办企业一件事”中自动填写", "The number on the licence; filled in by itself in “Starting a business”")),
                    "seals": _choice("刻制印章", "Seals to make", [("official", "公章", "Official seal"), ("official_finance", "公章和财务专用章", "Official and finance seals")]),
                    "engraver": _choice("刻制企业", "Seal maker", [("binjiang", "示范市滨江印章刻制有限公司", "Binjiang Seal Co."), ("qingshan", "示范市青山刻字社", "Qingshan Engravers")]),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-PSB-QR-002", "department": "city-psb", "kind": "confirmation", "audience": "person",
            "name": "居民身份证换领", "name_en": "Renewing a resident identity card",
            "summary": "居民身份证有效期满、严重损坏或者登记项目变更的，应当换领新证。网上预约并预审，到窗口采集人像和指纹一次，新证可邮寄到家。",
            "summary_en": "Renew an expired, damaged or outdated ID card: apply online, visit once for photo and fingerprints, and receive the card by post.",
            "legal_basis": "《中华人民共和国居民身份证法》第八条、第十一条、第二十条",
            "conditions": "1. 居民身份证有效期满（可在期满前三个月内申请）、严重损坏不能辨认或者姓名等登记项目变更；\n2. 本人到受理点采集人像和指纹信息；\n3. 法定发放时限为六十日，本市承诺 15 个工作日。",
            "limits": (42, 15), "visits_required": 1, "channels": "online counter", "online_depth": 3, "delivery": "pickup mail",
            "fee_free": False,
            "fee_standard": "居民身份证工本费每证 20 元；临时居民身份证每证 10 元。",
            # Collected through the portal (cases/payments): paid online or at the window before
            # acceptance, refunded when the application is not accepted, refused or withdrawn.
            "fee_rule": {"amount_fen": 2000, "due": "before_acceptance",
                         "refund_on": ["not_accepted", "rejected", "withdrawn"]},
            "fee_basis": "《中华人民共和国居民身份证法》第二十条；《国家发展改革委 财政部关于居民身份证收费标准及有关问题的通知》（发改价格〔2003〕2322号）",
            "result": ("licence", "居民身份证", "resident-id-card"), "events": ["travel"],
            "materials": [
                _upload("原居民身份证", "The old identity card", form="original", note="遗失的请办理补领。"),
                _shared(*HOUSEHOLD),
                _upload("数字相片回执", "Digital photo receipt", optional=True, note="可在受理点现场拍摄。"),
            ],
            "form": _form(
                _person(),
                {
                    "reason": _choice("换领原因", "Reason", [("expired", "有效期满", "Expired"), ("damaged", "证件损坏", "Damaged"), ("changed", "登记项目变更", "Particulars changed")]),
                    "old_expiry": _date("原证有效期至", "Old card valid until", optional=True),
                    "delivery": _choice("领取方式", "Receive the card", DELIVERY),
                },
                _address(postcode=True, optional=True),
                _consent(),
            ),
        },
        {
            "code": "330100-PSB-QR-003", "department": "city-psb", "kind": "confirmation", "audience": "person",
            "name": "户口迁移（市内）", "name_en": "Moving household registration within the city",
            "summary": "本市户籍居民在市内购房或投靠亲属的，可将户口迁至新住址，配偶和未成年子女可随迁。全程网办，“零跑腿”。",
            "summary_en": "Residents who buy a home or join relatives in the city move their household registration, with spouse and minor children; entirely online.",
            "legal_basis": "《中华人民共和国户口登记条例》第十条；示范市户口迁移管理规定",
            "conditions": "1. 迁移人为本市户籍居民；\n2. 在迁入地有合法固定住所，或者经房屋产权人同意投靠落户；\n3. 随迁人员限共同生活的配偶、未成年子女等直系亲属。",
            "limits": (10, 3), "channels": "online counter", "delivery": "pickup mail",
            "result": ("approval", "准予迁入通知（新户口簿页）", None), "events": ["housing", "school", "marriage-and-children"],
            "materials": [
                _licence("迁入地不动产权证书", "Title certificate of the new home", "real-estate-certificate"),
                _shared(*HOUSEHOLD),
                _upload("房屋产权人同意落户的书面意见", "Owner's written consent", form="original", optional=True, note="投靠亲属落户时提交。"),
                _licence("结婚证", "Marriage certificate", "marriage-certificate", optional=True, note="配偶随迁时调用。"),
            ],
            "form": _form(
                _person("迁移人", "Person moving"),
                {
                    "from_address": _text("迁出地址", "Moving from", 120),
                    "to_address": _text("迁入地址", "Moving to", 120),
                    "housing": _choice("落户依据", "Basis", [("own", "自有住房", "Own home"), ("relative", "投靠亲属", "Relative's home")]),
                    "family": _person_rows("随迁家庭成员", "Family members moving too", RELATIONS),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-PSB-XK-001", "department": "city-psb", "kind": "licensing", "audience": "person",
            "name": "机动车驾驶证换证（有效期满）", "name_en": "Renewing a driving licence (expiry)",
            "summary": "机动车驾驶证有效期满前九十日内申请换证。网上申请、当场办结，新证邮寄到家，同步生成电子驾驶证。",
            "summary_en": "Renew a driving licence within 90 days before it expires: decided on the spot, the new licence is posted and an e-licence issued.",
            "legal_basis": "《中华人民共和国道路交通安全法》第十九条、第二十三条；《机动车驾驶证申领和使用规定》（公安部令第162号）",
            "conditions": "1. 机动车驾驶证有效期满前九十日内申请；\n2. 身体条件符合驾驶许可条件（年满 70 周岁的须提交身体条件证明）；\n3. 驾驶证未被扣押、扣留、暂扣，无未处理完毕的交通违法和交通事故。",
            "limits": (1, 0), "channels": "online counter", "delivery": "pickup mail electronic",
            "fee_free": False,
            "fee_standard": "机动车驾驶证工本费每证 10 元；邮寄费用由邮政企业按标准收取。",
            "fee_basis": "《国家发展改革委 财政部关于公安部门有关收费标准及有关问题的通知》（发改价格〔2004〕2831号）",
            "result": ("licence", "机动车驾驶证", "driving-licence"), "workflow": "simple", "events": ["travel"],
            "materials": [
                _licence("机动车驾驶证", "Driving licence", "driving-licence"),
                _licence(*ID_CARD),
                _upload("机动车驾驶人身体条件证明", "Driver's medical certificate", note="由医疗机构出具，可电子传递。"),
            ],
            "form": _form(
                _person("驾驶人", "Driver"),
                {
                    "file_number": _text("驾驶证档案编号", "Licence file number", 12, pattern=r"^[0-9]{12}$", help=("驾驶证副页上的 12 位数字", "The 12 digits on the counterpart")),
                    "vehicle_class": _choice("准驾车型", "Vehicle class", [("C1", "C1 小型汽车", "C1 car"), ("C2", "C2 小型自动挡汽车", "C2 automatic car"), ("B2", "B2 大型货车", "B2 heavy goods vehicle"), ("A1", "A1 大型客车", "A1 bus"), ("D", "D 普通三轮摩托车", "D motorcycle")]),
                    "valid_until": _date("有效期至", "Valid until"),
                    "delivery": _choice("领取方式", "Receive the licence", DELIVERY),
                },
                _address(postcode=True, optional=True),
                _consent(),
            ),
        },
        {
            "code": "330100-PSB-QR-004", "department": "city-psb", "kind": "confirmation", "audience": "person",
            "name": "死亡人员户口注销", "name_en": "Cancelling the household registration of a deceased person",
            "summary": "公民死亡后，由亲属等申报死亡登记、注销户口。注销信息同步推送人社、医保、民政等部门，办理“身后一件事”。",
            "summary_en": "After a death, relatives cancel the household registration; the data go to pensions, insurance and civil affairs for the follow-up.",
            "legal_basis": "《中华人民共和国户口登记条例》第八条",
            "conditions": "1. 被注销人为本市户籍居民且已死亡；\n2. 城市在葬前、农村在一个月以内申报；\n3. 持有《居民死亡医学证明（推断）书》或者其他死亡证明。",
            "limits": (5, 1), "channels": "online counter", "delivery": "electronic pickup",
            "result": ("other", "户口注销证明", None), "events": ["bereavement"],
            "materials": [
                _upload("居民死亡医学证明（推断）书", "Medical death certificate", form="original"),
                _upload("死者居民身份证", "The deceased's identity card", form="original", optional=True, note="无法交回的请说明情况。"),
                _shared(*HOUSEHOLD, note="核验申报人与死者的关系。"),
            ],
            "form": _form(
                _person("申报人", "Declarant"),
                {
                    "deceased_name": _text("死者姓名", "Name of the deceased", 30),
                    "deceased_id": _id_number("死者公民身份号码", "ID number of the deceased"),
                    "death_date": _date("死亡日期", "Date of death"),
                    "relation": _choice("申报人与死者关系", "Declarant was the deceased's", RELATIONS),
                },
                _consent(),
            ),
        },
        # --- 民政局 --------------------------------------------------------------------------------
        {
            "code": "330100-MZ-QR-001", "department": "city-civil", "kind": "confirmation", "audience": "person",
            "name": "结婚登记（内地居民）", "name_en": "Marriage registration",
            "summary": "要求结婚的男女双方应当亲自到婚姻登记机关申请结婚登记，符合条件的当场登记，发给结婚证。",
            "summary_en": "Both partners come in person to the marriage registry; if the conditions are met they are registered on the spot and receive marriage certificates.",
            "legal_basis": "《中华人民共和国民法典》第一千零四十六条至第一千零四十九条；《婚姻登记条例》",
            "conditions": "1. 男女双方完全自愿；\n2. 男年满二十二周岁、女年满二十周岁；\n3. 双方均无配偶；\n4. 双方不是直系血亲或者三代以内旁系血亲；\n5. 双方亲自到场，签署《申请结婚登记声明书》。",
            "limits": (1, 0), "visits_required": 1, "channels": "counter", "online_depth": 2, "delivery": "pickup",
            "office_hours": "周一至周五 9:00—12:00，13:30—17:00；5 月 20 日、七夕等特殊日期延时服务另行公告",
            "result": ("licence", "结婚证", "marriage-certificate"), "workflow": "simple", "events": ["marriage-and-children"],
            "materials": [
                _licence("双方居民身份证", "Both partners' identity cards", "resident-id-card", note="现场核验原件。"),
                _shared("双方户籍信息", "Both partners' household registration data", "city-psb"),
                _upload("双方近期半身免冠合影照片", "Recent photo of the couple", form="original", copies=3, note="2 寸红底。"),
            ],
            "form": _form(
                _person("一方当事人", "First partner"),
                {
                    "partner_name": _text("另一方当事人姓名", "Other partner's name", 30),
                    "partner_id": _id_number("另一方公民身份号码", "Other partner's ID number"),
                    "partner_phone": _text("另一方联系电话", "Other partner's mobile phone", 11, pattern=MOBILE),
                    "appointment": _date("预约登记日期", "Appointment date", optional=True),
                },
                _consent("双方声明：本人无配偶，与对方不是直系血亲或者三代以内旁系血亲，自愿结婚。", "We declare that neither of us is married, we are not closely related, and we marry of our own free will."),
            ),
        },
        {
            "code": "330100-MZ-GG-001", "department": "city-civil", "kind": "public_service", "audience": "person",
            "name": "老年人优待证办理", "name_en": "Senior citizen's card",
            "summary": "年满 60 周岁的老年人可申领老年人优待证，凭证享受公共交通、景区门票、就医等优待。即时办结，同步生成电子优待证。",
            "summary_en": "People aged 60 and over get a senior citizen's card for discounts on transport, sights and health care; issued at once, also as an e-card.",
            "legal_basis": "《中华人民共和国老年人权益保障法》第五章“社会优待”；省、市老年人优待办法",
            "conditions": "1. 年满 60 周岁；\n2. 本市户籍，或者持本市居住证的常住老年人。",
            "limits": (5, 0), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "老年人优待证", "senior-citizen-card"), "workflow": "simple", "events": ["retirement"],
            "materials": [
                _licence(*ID_CARD),
                _shared(*HOUSEHOLD),
                _upload("近期免冠证件照片", "Recent passport-style photo", optional=True, note="不提交的调用身份证照片。"),
            ],
            "form": _form(
                _person(),
                {"delivery": _choice("领取方式", "Receive the card", DELIVERY)},
                _address(postcode=True),
                {
                    "emergency_name": _text("紧急联系人", "Emergency contact", 30, optional=True),
                    "emergency_phone": _text("紧急联系人电话", "Emergency contact's phone", 11, pattern=MOBILE, optional=True),
                },
            ),
        },
        # --- 人力资源和社会保障局 ------------------------------------------------------------------
        {
            "code": "330100-RS-GG-001", "department": "city-hrss", "kind": "public_service", "audience": "person",
            "name": "社会保障卡申领", "name_en": "Applying for a social security card",
            "summary": "申领第三代社会保障卡，可用于就医结算、待遇领取和金融支付。首次申领免费，可网上申请、邮寄到家，同步签发电子社保卡。",
            "summary_en": "Apply for a social security card for medical bills, benefits and payments; the first card is free, posted home, with an electronic card too.",
            "legal_basis": "《中华人民共和国社会保险法》第五十八条",
            "conditions": "1. 在本市参加社会保险或者拟在本市参保的人员；\n2. 未持有有效的本市社会保障卡；\n3. 未满 16 周岁的由监护人代为申请。",
            "limits": (10, 3), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "社会保障卡", "social-security-card"), "events": ["birth", "employment"],
            "materials": [
                _licence(*ID_CARD),
                _shared(*HOUSEHOLD),
                _upload("近期免冠证件照片", "Recent passport-style photo", note="白底，JPG 格式。"),
                _upload("监护关系证明", "Proof of guardianship", form="copy", optional=True, note="为未成年人申请时提交。"),
            ],
            "form": _form(
                _person("持卡人", "Card holder"),
                {
                    "bank": _choice("金融服务银行", "Bank for the card's account", [("icbc", "中国工商银行", "ICBC"), ("abc", "中国农业银行", "Agricultural Bank of China"), ("boc", "中国银行", "Bank of China"), ("ccb", "中国建设银行", "China Construction Bank"), ("psbc", "中国邮政储蓄银行", "Postal Savings Bank")]),
                    "delivery": _choice("领取方式", "Receive the card", DELIVERY),
                },
                _address(postcode=True, optional=True),
                _consent(),
            ),
        },
        {
            "code": "330100-RS-GG-002", "department": "city-hrss", "kind": "public_service", "audience": "person",
            "name": "新生儿社会保障卡申领", "name_en": "Social security card for a newborn",
            "summary": "父母或其他监护人为已办理出生登记的新生儿申领社会保障卡，首次申领免费。“出生一件事”中，出生登记办结后自动提交，出生登记编号自动带入。",
            "summary_en": "A parent or guardian applies for the social security card of a newborn registered at birth; the first card is free. In “Having a baby” it is filed by itself once the birth is registered, with the registration number filled in.",
            "legal_basis": "《中华人民共和国社会保险法》第五十八条",
            "conditions": "1. 新生儿已在本市办理出生登记；\n2. 由父母或者其他监护人申请；\n3. 新生儿未持有本市社会保障卡。",
            "limits": (10, 3), "channels": "online counter", "delivery": "pickup mail",
            "result": ("other", "社会保障卡（新生儿）", None), "events": ["birth"],
            "materials": [
                _upload("出生医学证明", "Medical birth certificate", form="original"),
                _upload("新生儿近期照片", "Recent photo of the child", optional=True, note="未满 16 周岁的可不提交。"),
            ],
            "form": _form(
                _person("监护人", "Guardian"),
                {
                    "child_name": _text("新生儿姓名", "Child's name", 20),
                    "child_sex": _choice("性别", "Sex", [("male", "男", "Male"), ("female", "女", "Female")]),
                    "birth_date": _date("出生日期", "Date of birth"),
                    "birth_registration": _text("出生登记办件编号", "Number of the birth registration", 100, help=("出生登记的办件编号；“出生一件事”中自动填写", "The case number of the birth registration; filled in by itself in “Having a baby”")),
                    "bank": _choice("金融服务银行", "Bank for the card's account", [("icbc", "中国工商银行", "ICBC"), ("abc", "中国农业银行", "Agricultural Bank of China"), ("boc", "中国银行", "Bank of China"), ("ccb", "中国建设银行", "China Construction Bank"), ("psbc", "中国邮政储蓄银行", "Postal Savings Bank")]),
                    "delivery": _choice("领取方式", "Receive the card", DELIVERY),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-RS-GF-001", "department": "city-hrss", "kind": "benefit", "audience": "person",
            "name": "失业保险金申领", "name_en": "Claiming unemployment insurance benefit",
            "summary": "非因本人意愿中断就业的参保人员，办理失业登记后可申领失业保险金，按月发放至本人社会保障卡金融账户。",
            "summary_en": "Insured people who lost their job involuntarily claim unemployment benefit, paid monthly into their social security card account.",
            "legal_basis": "《中华人民共和国社会保险法》第四十五条、第五十条；《失业保险条例》第十四条；《失业保险金申领发放办法》",
            "conditions": "1. 失业前用人单位和本人已经缴纳失业保险费满一年；\n2. 非因本人意愿中断就业；\n3. 已经进行失业登记，并有求职要求。",
            "limits": (10, 3), "channels": "online counter", "delivery": "electronic",
            "result": ("approval", "失业保险待遇核定通知", None), "events": ["employment"],
            "materials": [
                _upload("终止或者解除劳动关系的证明", "Proof that the employment ended"),
                _licence(*SSCARD),
                _shared(*INSURANCE_RECORD, note="核验失业保险缴费年限。"),
            ],
            "form": _form(
                _person(),
                {
                    "employer": _text("原工作单位", "Last employer", 100),
                    "employer_uscc": _text("原单位统一社会信用代码", "Employer's credit code", 18, pattern=USCC),
                    "left_on": _date("劳动关系终止日期", "Employment ended on"),
                    "reason": _choice("离职原因", "Why it ended", [("contract_end", "劳动合同期满终止", "Contract expired"), ("dismissed", "用人单位解除", "Dismissed by the employer"), ("bankrupt", "用人单位破产、关闭", "Employer closed"), ("other", "其他非本人意愿情形", "Other involuntary reason")]),
                    "bank_account": _text("社会保障卡金融账号", "Card account number", 19, pattern=BANK_ACCOUNT),
                    "job_seeking": _must("本人有求职要求，愿意接受职业介绍和职业培训", "I am looking for work and accept job placement and training"),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-RS-GF-002", "department": "city-hrss", "kind": "benefit", "audience": "person",
            "name": "企业职工丧葬补助金、抚恤金申领", "name_en": "Funeral grant and survivors' benefit (employees' pension)",
            "summary": "参加企业职工基本养老保险的人员因病或者非因工死亡的，其遗属可以申领丧葬补助金和抚恤金。",
            "summary_en": "When a member of the employees' pension scheme dies of illness or other non-work causes, survivors claim a funeral grant and survivors' benefit.",
            "legal_basis": "《中华人民共和国社会保险法》第十七条",
            "conditions": "1. 死者生前参加本市企业职工基本养老保险；\n2. 因病或者非因工死亡；\n3. 申请人为死者的配偶、子女、父母等直系亲属；\n4. 已办理户口注销。",
            "limits": (20, 10), "channels": "online counter", "delivery": "electronic",
            "result": ("approval", "丧葬补助金、抚恤金核定通知", None), "events": ["bereavement"],
            "materials": [
                _shared("死亡及户口注销信息", "Death and household cancellation data", "city-psb"),
                _shared(*INSURANCE_RECORD),
                _upload("申领人与死者关系证明", "Proof of relationship to the deceased", form="copy"),
                _licence("申领人社会保障卡", "Claimant's social security card", "social-security-card"),
            ],
            "form": _form(
                _person("申领人", "Claimant"),
                {
                    "deceased_name": _text("死者姓名", "Name of the deceased", 30),
                    "deceased_id": _id_number("死者公民身份号码", "ID number of the deceased"),
                    "death_date": _date("死亡日期", "Date of death"),
                    "relation": _choice("申领人与死者关系", "Claimant was the deceased's", RELATIONS),
                    "bank_account": _text("收款账号", "Bank account for the payment", 19, pattern=BANK_ACCOUNT),
                    "dependants": _person_rows("其他供养直系亲属", "Other dependants", RELATIONS, high=10),
                },
                _consent(),
            ),
        },
        # --- 医疗保障局 ----------------------------------------------------------------------------
        {
            "code": "330100-YB-DJ-001", "department": "city-hsa", "kind": "registration", "audience": "person",
            "name": "城乡居民基本医疗保险参保登记", "name_en": "Enrolling in residents' basic medical insurance",
            "summary": "未参加职工医保的城乡居民、学生和新生儿，办理城乡居民基本医疗保险参保登记。即时办结。",
            "summary_en": "Residents, students and newborns not covered by employees' insurance enrol in residents' medical insurance; done at once.",
            "legal_basis": "《中华人民共和国社会保险法》第二十五条；《国务院关于整合城乡居民基本医疗保险制度的意见》（国发〔2016〕3号）",
            "conditions": "1. 本市户籍或者持本市居住证，未参加职工基本医疗保险；\n2. 新生儿在出生后 90 日内参保的，自出生之日起享受待遇；\n3. 在校学生可由学校统一办理或者个人办理。",
            "limits": (5, 0), "channels": "online counter", "delivery": "electronic",
            "result": ("other", "参保登记凭证", None), "workflow": "simple", "events": ["birth", "school"],
            "materials": [
                _shared(*HOUSEHOLD),
                _licence("居住证", "Residence permit", "residence-permit", optional=True, note="非本市户籍人员调用。"),
                _upload("出生医学证明", "Medical birth certificate", optional=True, note="新生儿参保时提交。"),
            ],
            "form": _form(
                _person(),
                {
                    "insured_name": _text("参保人姓名", "Insured person's name", 30),
                    "relation": _choice("参保人是申请人的", "Insured person is the applicant's", SELF_OR_FAMILY),
                    "category": _choice("参保类别", "Category", INSURANCE_CATEGORIES),
                    # A newborn gets an ID number only at 出生登记: not asked for one.
                    "insured_id": _id_number("参保人公民身份号码", "Insured person's ID number"),
                },
                _consent(),
                rules=[_when("category", [c[0] for c in INSURANCE_CATEGORIES if c[0] != "newborn"], require=["insured_id"])],
            ),
        },
        {
            "code": "330100-YB-GF-001", "department": "city-hsa", "kind": "benefit", "audience": "person",
            "name": "生育医疗费用报销", "name_en": "Reimbursement of maternity medical costs",
            "summary": "参保人员在异地或者未联网医疗机构分娩、生育医疗费用未能直接结算的，可申请手工报销，报销款转入本人社会保障卡金融账户。",
            "summary_en": "Maternity costs not settled directly (e.g. birth in another city) are reimbursed into the social security card account.",
            "legal_basis": "《中华人民共和国社会保险法》第五十三条、第五十四条、第五十五条",
            "conditions": "1. 生育时已参加本市职工生育保险或者城乡居民基本医疗保险；\n2. 生育医疗费用未能在医疗机构直接结算；\n3. 自分娩之日起 12 个月内申请。",
            "limits": (20, 10), "channels": "online counter mail", "delivery": "electronic",
            "result": ("other", "生育医疗费用报销结算单", None), "events": ["birth", "marriage-and-children"],
            "materials": [
                _upload("医疗费用票据", "Medical invoices", form="original", note="电子票据可直接上传。"),
                _upload("费用明细清单", "Itemised bill", form="copy"),
                _upload("出院小结", "Discharge summary", form="copy"),
                _upload("出生医学证明", "Medical birth certificate", form="copy"),
                _licence(*SSCARD),
            ],
            "form": _form(
                _person("参保人", "Insured person"),
                {
                    "delivery_date": _date("分娩日期", "Date of delivery"),
                    "hospital": _text("分娩医疗机构", "Hospital", 100),
                    "delivery_mode": _choice("分娩方式", "Delivery", [("vaginal", "顺产", "Vaginal birth"), ("caesarean", "剖宫产", "Caesarean section")]),
                    "invoices": _rows(
                        "费用票据",
                        "Invoices",
                        {
                            "number": _text("票据号码", "Invoice number", 20, pattern=r"^[0-9]{8,20}$"),
                            "date": _date("开票日期", "Date"),
                            "amount": _number("金额（元）", "Amount (yuan)", 1000000),
                        },
                        1,
                        20,
                    ),
                    "bank_account": _text("社会保障卡金融账号", "Card account number", 19, pattern=BANK_ACCOUNT),
                },
                _consent(),
            ),
        },
        # --- 住房公积金管理中心 --------------------------------------------------------------------
        {
            "code": "330100-GJJ-GG-001", "department": "city-hpf", "kind": "public_service", "audience": "person",
            "name": "住房公积金提取（购买自住住房）", "name_en": "Withdrawing housing provident fund to buy a home",
            "summary": "职工购买自住住房的，可提取本人及配偶住房公积金账户余额。数据共享核验，全程网办，资金直接转入本人银行账户。",
            "summary_en": "Employees buying their home withdraw their and their spouse's provident fund; checked by shared data and paid straight to their account.",
            "legal_basis": "《住房公积金管理条例》第二十四条第一款第（一）项、第二十五条",
            "conditions": "1. 购买本市或者户籍所在地自住住房；\n2. 购房合同已网签备案或者已取得不动产权证书；\n3. 提取金额不超过扣除贷款后的购房款，且不超过本人及配偶账户余额；\n4. 自不动产权证书登记之日起一年内申请。",
            "limits": (3, 1), "channels": "online counter", "delivery": "electronic",
            "result": ("approval", "准予提取决定", None), "events": ["housing"],
            "materials": [
                _licence("不动产权证书", "Title certificate", "real-estate-certificate", note="尚未办证的提交购房合同和发票。"),
                _upload("购房合同和购房款发票", "Purchase contract and invoice", form="copy", optional=True),
                _licence("结婚证", "Marriage certificate", "marriage-certificate", optional=True, note="同时提取配偶公积金时调用。"),
                _licence(*SSCARD),
            ],
            "form": _form(
                _person("提取人", "Account holder"),
                {
                    "property_address": _text("房屋坐落", "Address of the home", 120),
                    "purchase_date": _date("购房日期", "Date of purchase"),
                    "price": _number("购房总价（万元）", "Price (10,000 yuan)", 100000),
                    "amount": _number("申请提取金额（元）", "Amount to withdraw (yuan)", 10000000),
                    "with_spouse": _flag("同时提取配偶账户", "Also withdraw from my spouse's account"),
                    "spouse_name": _text("配偶姓名", "Spouse's name", 30),
                    "spouse_id": _id_number("配偶公民身份号码", "Spouse's ID number"),
                    "bank_account": _text("收款银行账号", "Bank account for the payment", 19, pattern=BANK_ACCOUNT),
                },
                _consent(),
                rules=[_when("with_spouse", True, require=["spouse_name", "spouse_id"])],
            ),
        },
        # --- 残疾人联合会 --------------------------------------------------------------------------
        {
            "code": "330100-CL-QR-001", "department": "city-dpf", "kind": "confirmation", "audience": "person",
            "name": "残疾人证办理（新办）", "name_en": "Applying for a disability certificate",
            "summary": "符合残疾标准的人员，经指定医疗机构残疾评定后，申领中华人民共和国残疾人证，享受相应扶助和优惠政策。须本人到场评定。",
            "summary_en": "After an assessment at a designated hospital, people with a disability receive the disability certificate for support and concessions; the assessment is in person.",
            "legal_basis": "《中华人民共和国残疾人保障法》第二条；《中华人民共和国残疾人证管理办法》；《残疾人残疾分类和分级》（GB/T 26341—2010）",
            "conditions": "1. 本市户籍，或者持本市居住证；\n2. 符合《残疾人残疾分类和分级》国家标准，残疾状况相对稳定；\n3. 本人（或者由监护人陪同）到指定医疗机构接受残疾评定。",
            "limits": (30, 15), "visits_required": 2, "channels": "counter", "online_depth": 2, "delivery": "pickup mail",
            "result": ("licence", "中华人民共和国残疾人证", "disability-certificate"), "events": ["disability"],
            "materials": [
                _filled_in("残疾人证申请表", "Application form"),
                _licence(*ID_CARD),
                _shared(*HOUSEHOLD),
                _upload("近期二寸免冠彩色照片", "Recent colour photos", form="original", copies=3),
                _upload("残疾评定表", "Disability assessment form", form="original", note="由指定评定机构出具。"),
            ],
            "form": _form(
                _person(),
                {
                    "category": _choice("残疾类别", "Kind of disability", [("visual", "视力残疾", "Visual"), ("hearing", "听力残疾", "Hearing"), ("speech", "言语残疾", "Speech"), ("physical", "肢体残疾", "Physical"), ("intellectual", "智力残疾", "Intellectual"), ("mental", "精神残疾", "Mental"), ("multiple", "多重残疾", "Multiple")]),
                    "guardian_name": _text("监护人姓名", "Guardian's name", 30, optional=True),
                    "guardian_phone": _text("监护人电话", "Guardian's phone", 11, pattern=MOBILE, optional=True),
                },
                _address(postcode=True),
                _consent(),
            ),
        },
        # --- 自然资源和规划局 ----------------------------------------------------------------------
        {
            "code": "330100-ZR-XK-001", "department": "city-nrp", "kind": "licensing", "audience": "organisation",
            "name": "建设工程规划许可", "name_en": "Construction project planning permit",
            "summary": "在城市规划区内新建、扩建、改建建筑物、构筑物、道路、管线和其他工程，应当申领建设工程规划许可证。",
            "summary_en": "Building, extending or altering structures, roads and pipelines in the planning area needs a construction project planning permit.",
            "legal_basis": "《中华人民共和国城乡规划法》第四十条；《中华人民共和国行政许可法》第四十二条",
            "conditions": "1. 已依法取得建设用地使用权；\n2. 建设工程设计方案符合控制性详细规划和规划条件；\n3. 申请人为建设单位。",
            "limits": (20, 10), "channels": "online counter", "delivery": "pickup mail electronic",
            "result": ("licence", "建设工程规划许可证", "planning-permit"), "allows_tolerance": True, "allows_commitment": True, "events": ["starting-a-business", "housing"],
            "materials": [
                _filled_in("建设工程规划许可申请表", "Application form"),
                _licence("营业执照", "Business licence", "business-licence"),
                _licence("不动产权证书（土地）", "Land title certificate", "real-estate-certificate"),
                _upload("建设工程设计方案总平面图", "Site plan of the design"),
                _upload("建设工程施工图设计文件", "Construction drawings", optional=True, note="可容缺受理，开工前补齐。"),
            ],
            "form": _form(
                _company(),
                {
                    "project_name": _text("项目名称", "Project", 100),
                    "site": _text("建设地址", "Site", 120),
                    "land_certificate": _text("土地不动产权证号", "Land title number", 40),
                    "land_area": _number("用地面积（平方米）", "Site area (m²)", 10000000),
                    "floor_area": _number("总建筑面积（平方米）", "Total floor area (m²)", 10000000),
                    "buildings": _int("建筑栋数", "Number of buildings", 1, 200),
                    "height": _number("最大建筑高度（米）", "Greatest height (m)", 600),
                },
                _consent(),
            ),
        },
        {
            "code": "330100-ZR-DJ-001", "department": "city-nrp", "kind": "registration", "audience": "both",
            "name": "不动产转移登记（二手房买卖）", "name_en": "Transfer registration for a resale home",
            "summary": "买卖已登记的房屋，由买卖双方共同申请转移登记。“交易、缴税、登记”一窗受理，电子证照同步生成。",
            "summary_en": "Buyer and seller jointly register the transfer of a home; trade, tax and registration at one counter, with an electronic title.",
            "legal_basis": "《中华人民共和国民法典》第二百零九条、第二百一十四条；《不动产登记暂行条例》第三条、第十四条、第二十条；《不动产登记暂行条例实施细则》",
            "conditions": "1. 房屋已取得不动产权证书，且无查封、异议登记等限制；设有抵押的已取得抵押权人同意；\n2. 买卖双方共同申请（可以委托代理人）；\n3. 已完成买卖合同网签备案并缴纳相关税费。",
            "limits": (30, 5), "visits_required": 1, "channels": "online counter", "online_depth": 3, "delivery": "pickup mail electronic",
            "fee_free": False,
            "fee_standard": "住宅类不动产登记费每件 80 元（含第一本证书工本费），每增加一本证书加收工本费 10 元；非住宅类每件 550 元。由登记申请人（买受方）缴纳。",
            "fee_basis": "《国家发展改革委 财政部关于不动产登记收费标准等有关问题的通知》（发改价格规〔2016〕2559号）；《财政部 国家发展改革委关于不动产登记收费有关政策问题的通知》（财税〔2016〕79号）",
            "result": ("licence", "不动产权证书", "real-estate-certificate"), "events": ["housing"],
            "materials": [
                _licence("不动产权证书", "Title certificate", "real-estate-certificate"),
                _upload("不动产买卖合同", "Sale contract", note="网签合同系统自动调取。"),
                _shared("买卖双方身份信息", "Identity data of buyer and seller", "city-psb"),
                _shared("卖方婚姻登记信息", "Seller's marriage records", "city-civil"),
                _upload("完税凭证", "Tax payment receipt", note="一窗办理的由税务部门推送。"),
            ],
            "form": _form(
                _person("买受人（申请人）", "Buyer"),
                {
                    "certificate_number": _text("原不动产权证号", "Title number", 40),
                    "location": _text("房屋坐落", "Address of the property", 120),
                    "area": _number("建筑面积（平方米）", "Floor area (m²)", 100000),
                    "price": _number("成交价格（万元）", "Price (10,000 yuan)", 100000),
                    "seller_name": _text("出卖人姓名或名称", "Seller", 100),
                    "seller_id": _text("出卖人证件号码", "Seller's ID number or credit code", 18, pattern=r"^[0-9A-Z]{17}[0-9A-Z]$"),
                    "ownership": _choice("共有方式", "Ownership", [("single", "单独所有", "Sole owner"), ("joint", "共同共有", "Joint ownership"), ("shares", "按份共有", "Ownership in shares")]),
                    "co_owners": _rows(
                        "其他共有人",
                        "Other co-owners",
                        {
                            "name": _text("姓名", "Name", 30),
                            "id_number": _id_number("公民身份号码", "ID number"),
                            "share": _number("份额（%）", "Share (%)", 100, optional=True),
                        },
                        high=9,
                        optional=False,
                        help=("按份共有的填写各自份额", "Give each share for ownership in shares"),
                    ),
                },
                _consent(),
                rules=[_when("ownership", ["joint", "shares"], require=["co_owners"])],
            ),
        },
        # --- 街道 ----------------------------------------------------------------------------------
        {
            "code": "330108-HQ-GG-001", "department": "street-huqiao", "kind": "public_service", "audience": "person",
            "name": "居住证办理", "name_en": "Residence permit",
            "summary": "离开常住户口所在地到本市居住半年以上的人员，可申领居住证，享受就业、子女入学、社保等基本公共服务。",
            "summary_en": "People who have lived in the city for six months away from their registered home get a residence permit for jobs, schooling and social security.",
            "legal_basis": "《居住证暂行条例》（国务院令第663号）第二条、第九条",
            "conditions": "1. 离开常住户口所在地，到本市居住半年以上；\n2. 有合法稳定就业、合法稳定住所、连续就读三者之一；\n3. 已在居住地办理居住登记。",
            "limits": (15, 7), "visits_required": 1, "channels": "online counter", "online_depth": 3, "delivery": "pickup mail",
            "result": ("licence", "居住证", "residence-permit"), "events": ["employment", "school"],
            "materials": [
                _licence(*ID_CARD),
                _upload("居住地住所证明", "Proof of address (tenancy or title)", form="copy"),
                _shared("就业参保信息", "Employment and insurance record", "city-hrss", note="以稳定就业为依据时核验。"),
                _upload("就读证明", "Proof of study", optional=True, note="以连续就读为依据时提交。"),
            ],
            "form": _form(
                _person(),
                _address("residence", "居住地址", "Address in the city"),
                {
                    "since": _date("来本市居住时间", "Living here since"),
                    "basis": _choice("申领依据", "Basis", [("work", "合法稳定就业", "Stable job"), ("home", "合法稳定住所", "Stable home"), ("study", "连续就读", "Studying")]),
                    "employer": _text("工作单位或学校", "Employer or school", 100, optional=True),
                },
                _consent(),
            ),
        },
        {
            "code": "330108-WH-GF-001", "department": "street-wanghai", "kind": "benefit", "audience": "person",
            "name": "高龄津贴申领", "name_en": "Old-age allowance for people aged 80 and over",
            "summary": "本街道户籍年满 80 周岁的老年人可申领高龄津贴，按月发放至本人社会保障卡金融账户。子女可代为申请。",
            "summary_en": "Residents of the street aged 80 and over receive a monthly allowance into their social security card account; children may apply for them.",
            "legal_basis": "《中华人民共和国老年人权益保障法》第三十三条；示范市高龄津贴发放办法",
            "conditions": "1. 本市户籍，户籍所在地在本街道辖区；\n2. 年满 80 周岁；\n3. 本人或者家属申请，津贴自核定次月起发放。",
            "limits": (20, 10), "channels": "online counter", "delivery": "electronic",
            "result": ("approval", "高龄津贴核定通知", None), "events": ["retirement"],
            "materials": [
                _shared(*HOUSEHOLD, note="核验年龄和户籍地。"),
                _licence("老年人社会保障卡", "The elder's social security card", "social-security-card",
                         optional=True),
                _upload("代办人身份证明", "Agent's identity document", optional=True, note="家属代办时提交。"),
            ],
            "form": _form(
                _person(),
                {
                    "elder_name": _text("老年人姓名", "Elder's name", 30),
                    "elder_id": _id_number("老年人公民身份号码", "Elder's ID number"),
                    "relation": _choice("老年人是申请人的", "The elder is the applicant's", [("self", "本人", "Self"), ("parent", "父母", "Parent"), ("spouse", "配偶", "Spouse"), ("other", "其他亲属", "Other relative")]),
                },
                _consent(),
            ),
        },
        {
            "code": "330110-SL-DJ-001", "department": "street-songlin", "kind": "registration", "audience": "person",
            "name": "城乡居民基本养老保险参保登记", "name_en": "Enrolling in residents' basic pension insurance",
            "summary": "年满 16 周岁、不属于职工养老保险覆盖范围的城乡居民，在户籍地办理城乡居民基本养老保险参保登记，自选缴费档次。",
            "summary_en": "Residents aged 16 and over outside the employees' scheme enrol in residents' pension insurance where they are registered and choose a contribution level.",
            "legal_basis": "《中华人民共和国社会保险法》第二十条、第二十二条；《国务院关于建立统一的城乡居民基本养老保险制度的意见》（国发〔2014〕8号）",
            "conditions": "1. 年满 16 周岁（不含在校学生）；\n2. 非国家机关和事业单位工作人员，不属于职工基本养老保险覆盖范围；\n3. 在户籍地参保。",
            "limits": (5, 1), "channels": "online counter", "delivery": "electronic",
            "result": ("other", "参保登记凭证", None), "events": ["retirement"],
            "materials": [
                _shared(*HOUSEHOLD),
                _shared(*INSURANCE_RECORD, note="核验未参加职工基本养老保险。"),
                _licence(*SSCARD, optional=True),
            ],
            "form": _form(
                _person(),
                {
                    "level": _choice("缴费档次", "Contribution per year", [(v, f"每年 {v} 元", f"{v} yuan a year") for v in (200, 300, 500, 800, 1000, 1500, 2000, 3000)]),
                    "payment": _choice("缴费方式", "How to pay", [("bank", "银行代扣", "Direct debit"), ("online", "网上自助缴纳", "Pay online")]),
                },
                _consent(),
            ),
        },
    ]
    # fmt: on


# What applicants sign where a service proceeds on a commitment (告知承诺书), by service code.
COMMITMENTS = {
    "330100-AMR-DJ-002": (
        "本人（本单位）承诺：所申报的公司住所真实存在、可以合法使用，并能通过该住所联系到公司。"
        "如住所不实，愿承担被列入经营异常名录等法律责任。",
        "I (we) promise that the registered address declared exists, may lawfully be used and "
        "reaches the company. If it does not, the company may be listed as abnormal and I bear the "
        "legal consequences.",
    ),
    "330100-AMR-XK-001": (
        "本单位承诺：经营场所、设备设施、食品安全管理人员和管理制度符合《食品经营许可和备案管理办法》"
        "规定的许可条件，所填报信息和提交材料真实、准确。本单位知晓行政机关将在作出决定后依法核查，"
        "承诺不实的，依法撤销许可并承担相应法律责任。",
        "We promise that our premises, equipment, food safety manager and rules meet the conditions "
        "of the Food Business Licensing Measures, and that what we declare is true. The department "
        "checks after deciding; a false commitment means the licence is revoked.",
    ),
    "330100-AMR-DJ-005": (
        "全体投资人承诺：企业不存在未结清的清算费用、职工工资、社会保险费用、法定补偿金和应缴纳税款，"
        "不存在未了结的债权债务。如承诺不实，愿承担相应法律后果。",
        "All investors promise that the business owes no liquidation costs, wages, social insurance, "
        "statutory compensation or taxes and has no unsettled debts. If this is false, we bear the "
        "legal consequences.",
    ),
}
COMMITMENT_DEFAULT = (
    "本单位承诺：符合本事项的许可条件，所填报信息和提交材料真实、准确、有效。本单位知晓行政机关将在作出"
    "决定后依法核查，承诺不实的，依法撤销许可并承担相应法律责任。",
    "We promise that we meet the conditions of this service and that what we declare and hand in "
    "is true. The department checks after deciding; a false commitment means the licence is "
    "revoked.",
)

# --- Loading ---------------------------------------------------------------------------------------

VERSION_KEYS = {
    "code",
    "department",
    "limits",
    "channels",
    "delivery",
    "result",
    "materials",
    "events",
    "form",
    "workflow",
}


def _department_workflow(department: Department, *, simple: bool = False) -> WorkflowDefinition:
    """The department's copy of the standard template; `simple` drops the review stage (受理→决定)."""
    code = f"{department.code}-{'simple' if simple else 'standard'}"
    existing = (
        WorkflowDefinition.objects.filter(code=code, status=WorkflowDefinition.Status.PUBLISHED)
        .order_by("-version")
        .first()
    )
    if existing:
        return existing
    name, name_en = (
        ("简易流程（受理—决定—办结）", "simple procedure without review")
        if simple
        else ("标准审批流程", "standard procedure")
    )
    copy = copy_workflow(
        definition=ensure_standard_template(),
        department=department,
        code=code,
        name=f"{department.name}{name}",
    )
    copy.name_en = f"{department.name_en or department.name}: {name_en}"
    copy.save(update_fields=["name_en"])
    if simple:
        stages = {stage.code: stage for stage in copy.stages.all()}
        review, decision = stages["review"], stages["decision"]
        accept = copy.transitions.get(name="accept")
        accept.target = decision
        accept.save(update_fields=["target"])
        copy.transitions.filter(source=review).delete()
        copy.transitions.filter(target=review).delete()
        review.delete()
        decision.time_share = 70  # intake 20 + decision 70 + delivery 10
        decision.save(update_fields=["time_share"])
    problems = workflow_problems(copy)
    if problems:
        raise ValidationError(problems)
    return publish_workflow(definition=copy)


def _resolve_material(material: dict, departments: dict, licences: dict) -> dict:
    material = dict(material)
    if "licence_type" in material:
        material["licence_type"] = licences[material["licence_type"]]
    if "shared_by" in material:
        material["shared_by"] = departments[material["shared_by"]]
    return material


@transaction.atomic
def load() -> int:
    """Create whatever of the demo catalog is missing; return how many services exist."""
    services = _services()
    wanted = {s["department"] for s in services} | {t[3] for t in LICENCE_TYPES}
    wanted |= {m["shared_by"] for s in services for m in s["materials"] if "shared_by" in m}
    departments = {d.code: d for d in Department.objects.filter(code__in=wanted)}
    if missing := wanted - set(departments):
        raise ValueError(
            f"Load accounts.demo first; missing departments: {', '.join(sorted(missing))}"
        )

    events = {}
    for order, (code, name, name_en) in enumerate(LIFE_EVENTS, start=1):
        events[code], _ = LifeEvent.objects.get_or_create(
            code=code, defaults={"name": name, "name_en": name_en, "order": order * 10}
        )
    licences = {}
    for code, name, name_en, issuer, years in LICENCE_TYPES:
        licences[code], _ = LicenceType.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "name_en": name_en,
                "issuer": departments[issuer],
                "validity_years": years,
                "content_fields": LICENCE_CONTENT.get(code, []),
            },
        )

    # Every department that owns services gets its copy of the standard template; some also the
    # simple variant for items decided on the spot.
    workflows = {}
    for service in services:
        department = departments[service["department"]]
        for simple in {False, service.get("workflow") == "simple"}:
            if (department.code, simple) not in workflows:
                workflows[department.code, simple] = _department_workflow(department, simple=simple)

    for service in services:
        if ServiceItem.objects.filter(code=service["code"]).exists():
            continue
        department = departments[service["department"]]
        statutory, promised = service["limits"]
        result_type, result_name, licence_type = service["result"]
        location, phone = DESKS[department.code]
        channels, delivery = service["channels"].split(), service["delivery"].split()
        fields = {
            **DEFAULTS,
            "handling_location": location,
            "handling_location_en": DESKS_EN[department.code],
            "office_hours_en": OFFICE_HOURS_EN,
            "enquiry_phone": phone,
            "keywords": KEYWORDS.get(service["code"], ""),
            **{key: value for key, value in service.items() if key not in VERSION_KEYS},
            **ENGLISH[service["code"]],
            "statutory_limit_days": statutory,
            "promised_limit_days": promised,
            "result_type": result_type,
            "result_name": result_name,
            "licence_type": licences[licence_type] if licence_type else None,
            "form_schema": service["form"],
            "workflow": workflows[department.code, service.get("workflow") == "simple"],
            **(
                dict(
                    zip(
                        ("commitment_text", "commitment_text_en"),
                        COMMITMENTS.get(service["code"], COMMITMENT_DEFAULT),
                        strict=True,
                    )
                )
                if service.get("allows_commitment")
                else {}
            ),  # fmt: skip
            **{f"channel_{channel}": channel in channels for channel in CHANNELS},
            **{f"delivery_{way}": way in delivery for way in DELIVERIES},
        }
        version = create_service(
            code=service["code"],
            department=department,
            materials=[_resolve_material(m, departments, licences) for m in service["materials"]],
            life_events=[events[code] for code in service["events"]],
            **fields,
        )
        publish_version(version=version)
    _grant_shared_data(services)
    # The articles of law each service is decided under (法律依据): their own module.
    from .demo_articles import load_articles

    load_articles()
    # The demo bundles (一件事) join services above: their own module, in the import format.
    from .demo_bundles import load_bundles

    load_bundles()
    return ServiceItem.objects.count()


# The demo registry each sharing department keeps (cases.sharing.demo), and the fields a material
# shared from it needs: only what checking the material takes (《政务数据共享条例》), e.g. no ethnicity.
SHARED_REGISTRIES = {
    "city-psb": (
        "household",
        ["name", "gender", "birth_date", "address", "household_head", "relation_to_head", "status"],
    ),
    "city-civil": ("marriage", ["status", "spouse_name", "registered_on"]),
    "city-hrss": (
        "social_insurance",
        ["insured", "scheme", "since", "contribution_months", "unemployment_months"],
    ),
    "city-nrp": ("property", ["count", "properties"]),
}


def _grant_shared_data(services: list[dict]) -> None:
    """Each demo service may ask the registries its shared materials come from, for the fields
    those materials need (数据共享授权); added to services loaded before grants existed too."""
    from .models import SharingGrant

    items = {
        item.code: item
        for item in ServiceItem.objects.filter(code__in=[s["code"] for s in services])
    }
    for service in services:
        item = items.get(service["code"])
        if item is None:
            continue
        for material in service["materials"]:
            if material.get("source") != "shared" or material["shared_by"] not in SHARED_REGISTRIES:
                continue
            registry, fields = SHARED_REGISTRIES[material["shared_by"]]
            SharingGrant.objects.get_or_create(
                service=item,
                registry=registry,
                defaults={"fields": fields, "purpose": f"核验申请材料：{material['name']}"},
            )
