"""The articles of law the demo services are decided under (法律依据), for services.demo.

Every demo service reaches a decision (准予, 不予, 不予受理), so each has articles a decider can
apply: the service's own law and, for licences (行政许可), the Administrative Licensing Law's rules
on deciding (§38) and on not accepting (§32). Texts are quoted from the laws in force; the English
is a working translation, not an official one. Kept apart from the catalog data in services.demo so
either changes without touching the other; idempotent like it: a service that has articles keeps
them.
"""

from __future__ import annotations

from .articles import add_articles
from .models import ServiceItem

# Short key → (name, English name).
LAWS = {
    "licensing": ("《中华人民共和国行政许可法》", "Administrative Licensing Law of the People's Republic of China"),
    "market": ("《中华人民共和国市场主体登记管理条例》", "Regulations of the People's Republic of China on the Administration of the Registration of Market Entities"),
    "individual": ("《促进个体工商户发展条例》", "Regulations on Promoting the Development of Individual Businesses"),
    "company": ("《中华人民共和国公司法》", "Company Law of the People's Republic of China"),
    "food": ("《中华人民共和国食品安全法》", "Food Safety Law of the People's Republic of China"),
    "drugs": ("《中华人民共和国药品管理法》", "Drug Administration Law of the People's Republic of China"),
    "household": ("《中华人民共和国户口登记条例》", "Regulations of the People's Republic of China on Household Registration"),
    "civil": ("《中华人民共和国民法典》", "Civil Code of the People's Republic of China"),
    "id_card": ("《中华人民共和国居民身份证法》", "Resident Identity Card Law of the People's Republic of China"),
    "traffic": ("《中华人民共和国道路交通安全法》", "Road Traffic Safety Law of the People's Republic of China"),
    "elderly": ("《中华人民共和国老年人权益保障法》", "Law of the People's Republic of China on the Protection of the Rights and Interests of the Elderly"),
    "insurance": ("《中华人民共和国社会保险法》", "Social Insurance Law of the People's Republic of China"),
    "provident": ("《住房公积金管理条例》", "Regulations on the Administration of Housing Provident Funds"),
    "disability": ("《中华人民共和国残疾人保障法》", "Law of the People's Republic of China on the Protection of Persons with Disabilities"),
    "planning": ("《中华人民共和国城乡规划法》", "Urban and Rural Planning Law of the People's Republic of China"),
    "real_estate": ("《不动产登记暂行条例》", "Interim Regulations on Real Estate Registration"),
    "residence": ("《居住证暂行条例》", "Interim Regulations on Residence Permits"),
    "seal": ("《国务院关于第三批取消中央指定地方实施行政许可事项的决定》（国发〔2017〕7号）", "Decision of the State Council on the third batch of licensing items cancelled (Guo Fa [2017] No. 7)"),
}  # fmt: skip

# (law key, article, English article, text, English text)
LICENSING_GRANT = (
    "licensing", "第三十八条第一款", "Article 38(1)",
    "申请人的申请符合法定条件、标准的，行政机关应当依法作出准予行政许可的书面决定。",
    "Where an application meets the statutory conditions and standards, the administrative "
    "authority shall make a written decision granting the licence according to law.",
)  # fmt: skip
LICENSING_REFUSE = (
    "licensing", "第三十八条第二款", "Article 38(2)",
    "行政机关依法作出不予行政许可的书面决定的，应当说明理由，并告知申请人享有依法申请行政复议或者提起行政诉讼的权利。",
    "Where the administrative authority makes a written decision refusing a licence, it shall "
    "state the reasons and inform the applicant of the right to apply for administrative review "
    "or to bring an administrative lawsuit according to law.",
)  # fmt: skip
LICENSING_NOT_ACCEPTED = (
    "licensing", "第三十二条第一款", "Article 32(1)",
    "行政机关对申请人提出的行政许可申请，应当根据下列情况分别作出处理：（一）申请事项依法不需要取得行政许可的，"
    "应当即时告知申请人不受理；（二）申请事项依法不属于本行政机关职权范围的，应当即时作出不予受理的决定，并告知"
    "申请人向有关行政机关申请；（三）申请材料存在可以当场更正的错误的，应当允许申请人当场更正；（四）申请材料"
    "不齐全或者不符合法定形式的，应当当场或者在五日内一次告知申请人需要补正的全部内容，逾期不告知的，自收到申请"
    "材料之日起即为受理；（五）申请事项属于本行政机关职权范围，申请材料齐全、符合法定形式，或者申请人按照本行政"
    "机关的要求提交全部补正申请材料的，应当受理行政许可申请。",
    "The administrative authority shall deal with a licence application as follows: (i) where "
    "the matter needs no licence by law, it shall at once tell the applicant that it is not "
    "accepted; (ii) where the matter is by law outside the authority's competence, it shall at "
    "once decide not to accept it and tell the applicant to apply to the competent authority; "
    "(iii) where the materials contain errors that can be corrected on the spot, it shall let "
    "the applicant correct them on the spot; (iv) where the materials are incomplete or not in "
    "the statutory form, it shall tell the applicant on the spot or within five days, in one "
    "notice, everything to be supplemented, failing which the application counts as accepted "
    "from the day the materials were received; (v) where the matter is within its competence "
    "and the materials are complete and in the statutory form, or the applicant has supplemented "
    "all of them as asked, it shall accept the application.",
)  # fmt: skip
MARKET_REVIEW = (
    "market", "第十九条", "Article 19",
    "登记机关应当对申请材料进行形式审查。对申请材料齐全、符合法定形式的予以确认并当场登记。不能当场登记的，应当在"
    "3个工作日内予以登记；情形复杂的，经登记机关负责人批准，可以再延长3个工作日。申请材料不齐全或者不符合法定形式的，"
    "登记机关应当一次性告知申请人需要补正的材料。",
    "The registration authority examines the form of the application materials. Complete "
    "materials in the statutory form are confirmed and registered on the spot; what cannot be "
    "registered on the spot is registered within 3 working days, or, in complex cases and with "
    "the approval of the head of the authority, within 3 further working days. Where the "
    "materials are incomplete or not in the statutory form, the authority tells the applicant in "
    "one notice what must be supplemented.",
)  # fmt: skip
MARKET_REFUSE = (
    "market", "第二十条", "Article 20",
    "登记申请不符合法律、行政法规规定，或者可能危害国家安全、社会公共利益的，登记机关不予登记并说明理由。",
    "Where an application for registration does not comply with laws and administrative "
    "regulations, or may endanger national security or the public interest, the registration "
    "authority refuses to register and states the reasons.",
)  # fmt: skip
MARKET_LICENCE = (
    "market", "第二十一条第一款", "Article 21(1)",
    "申请人申请市场主体设立登记，登记机关依法予以登记的，签发营业执照。营业执照签发日期为市场主体的成立日期。",
    "Where the registration authority registers the establishment of a market entity according "
    "to law, it issues a business licence. The date of issue of the business licence is the date "
    "the market entity is established.",
)  # fmt: skip

# 《民法典》第十五条: the time of birth and death (出生登记, 死亡注销).
CIVIL_BIRTH_AND_DEATH = (
    "civil",
    "第十五条",
    "Article 15",
    "自然人的出生时间和死亡时间，以出生证明、死亡证明记载的时间为准；没有出生证明、死亡证明的，以户籍登记或者其他有效身份登记"
    "记载的时间为准。有其他证据足以推翻以上记载时间的，以该证据证明的时间为准。",
    "The time of a natural person's birth and death is that recorded in the birth or death "
    "certificate; without one, that recorded in the household registration or another valid "
    "identity registration. Where other evidence suffices to overturn the recorded time, the "
    "time that evidence proves prevails.",
)

ARTICLES = {
    # 个体工商户设立登记
    "330100-AMR-DJ-001": [
        MARKET_REVIEW,
        MARKET_LICENCE,
        MARKET_REFUSE,
        (
            "individual",
            "第二条",
            "Article 2",
            "有经营能力的公民在中华人民共和国境内从事工商业经营，依法登记为个体工商户的，适用本条例。",
            "These Regulations apply to citizens with the capacity to do business who engage in "
            "industrial or commercial business in the People's Republic of China and are registered "
            "as individual businesses according to law.",
        ),
    ],
    # 个体工商户变更登记
    "330100-AMR-DJ-006": [
        MARKET_REVIEW,
        MARKET_REFUSE,
        (
            "market",
            "第二十四条第一款",
            "Article 24(1)",
            "市场主体变更登记事项，应当自作出变更决议、决定或者法定变更事项发生之日起30日内向登记机关"
            "申请变更登记。",
            "A market entity shall apply to the registration authority for the registration of a "
            "change within 30 days of the resolution or decision on the change, or of the change "
            "required by law taking place.",
        ),
    ],
    # 有限责任公司设立登记
    "330100-AMR-DJ-002": [
        (
            "company",
            "第三十一条",
            "Article 31",
            "申请设立公司，符合本法规定的设立条件的，由公司登记机关分别登记为有限责任公司或者股份有限公司；不符合本法规定的"
            "设立条件的，不得登记为有限责任公司或者股份有限公司。",
            "Where an application to establish a company meets the conditions of this Law, the "
            "company registration authority registers it as a limited liability company or a company "
            "limited by shares; where it does not, it may not be so registered.",
        ),
        (
            "company",
            "第三十条",
            "Article 30",
            "申请设立公司，应当提交设立登记申请书、公司章程等文件，提交的相关材料应当真实、合法和有效。申请材料不齐全或者不符合"
            "法定形式的，公司登记机关应当一次性告知需要补正的材料。",
            "An application to establish a company includes the application for registration, the "
            "articles of association and other documents, which shall be true, lawful and valid. "
            "Where the materials are incomplete or not in the statutory form, the company "
            "registration authority says in one notice what must be supplemented.",
        ),
        MARKET_REVIEW,
        MARKET_REFUSE,
    ],
    # 食品经营许可（新办）
    "330100-AMR-XK-001": [
        (
            "food",
            "第三十五条第一款",
            "Article 35(1)",
            "国家对食品生产经营实行许可制度。从事食品生产、食品销售、餐饮服务，应当依法取得许可。但是，销售食用农产品和仅销售"
            "预包装食品的，不需要取得许可。仅销售预包装食品的，应当报所在地县级以上地方人民政府食品安全监督管理部门备案。",
            "The State applies a licensing system to food production and trade. Producing or selling "
            "food or providing catering services requires a licence according to law; selling edible "
            "agricultural products, or only pre-packaged food, does not. Selling only pre-packaged "
            "food is filed with the local food safety authority at or above county level.",
        ),
        (
            "food",
            "第三十五条第二款",
            "Article 35(2)",
            "县级以上地方人民政府食品安全监督管理部门应当依照《中华人民共和国行政许可法》的规定，审核申请人提交的本法第三十三条"
            "第一款第一项至第四项规定要求的相关资料，必要时对申请人的生产经营场所进行现场核查；对符合规定条件的，准予许可；"
            "对不符合规定条件的，不予许可并书面说明理由。",
            "The food safety authority at or above county level examines, under the Administrative "
            "Licensing Law, the materials required by items 1 to 4 of Article 33(1) of this Law and, "
            "where necessary, inspects the premises on site; it grants the licence where the "
            "conditions are met, and otherwise refuses it with written reasons.",
        ),
        LICENSING_REFUSE,
        LICENSING_NOT_ACCEPTED,
    ],
    # 营业执照变更登记
    "330100-AMR-DJ-003": [
        (
            "market",
            "第二十四条第一款",
            "Article 24(1)",
            "市场主体变更登记事项，应当自作出变更决议、决定或者法定变更事项发生之日起30日内向登记机关申请变更登记。",
            "A market entity applies to the registration authority for the registration of a change "
            "within 30 days of the resolution or decision to change, or of the statutory change "
            "occurring.",
        ),
        (
            "company",
            "第三十四条",
            "Article 34",
            "公司登记事项发生变更的，应当依法办理变更登记。公司登记事项未经登记或者未经变更登记，不得对抗善意相对人。",
            "Where a registered particular of a company changes, the change shall be registered "
            "according to law. A particular not registered, or whose change is not registered, may "
            "not be asserted against a counterparty acting in good faith.",
        ),
        MARKET_REVIEW,
        MARKET_REFUSE,
    ],
    # 小餐饮登记
    "330100-AMR-DJ-004": [
        (
            "food",
            "第三十六条第一款",
            "Article 36(1)",
            "食品生产加工小作坊和食品摊贩等从事食品生产经营活动，应当符合本法规定的与其生产经营规模、条件相适应的食品安全要求，"
            "保证所生产经营的食品卫生、无毒、无害，食品安全监督管理部门应当对其加强监督管理。",
            "Small food workshops, food stalls and the like shall meet the food safety requirements "
            "of this Law that fit their scale and conditions and ensure that the food they produce or "
            "sell is hygienic, non-toxic and harmless; the food safety authority supervises them.",
        ),
        (
            "food",
            "第三十六条第三款",
            "Article 36(3)",
            "食品生产加工小作坊和食品摊贩等的具体管理办法由省、自治区、直辖市制定。",
            "The detailed rules for small food workshops, food stalls and the like are made by the "
            "provinces, autonomous regions and municipalities directly under the central government.",
        ),
    ],
    # 药品经营许可（零售）
    "330100-AMR-XK-002": [
        (
            "drugs",
            "第五十一条第一款",
            "Article 51(1)",
            "从事药品批发活动，应当经所在地省、自治区、直辖市人民政府药品监督管理部门批准，取得药品经营许可证。从事药品零售活动，"
            "应当经所在地县级以上地方人民政府药品监督管理部门批准，取得药品经营许可证。无药品经营许可证的，不得经营药品。",
            "Drug wholesale requires the approval of the provincial drug regulatory authority and a "
            "drug trading licence. Drug retail requires the approval of the local drug regulatory "
            "authority at or above county level and a drug trading licence. Nobody may trade in "
            "drugs without a drug trading licence.",
        ),
        (
            "drugs",
            "第五十二条",
            "Article 52",
            "从事药品经营活动应当具备以下条件：（一）有依法经过资格认定的药师或者其他药学技术人员；（二）有与所经营药品相适应的"
            "营业场所、设备、仓储设施和卫生环境；（三）有与所经营药品相适应的质量管理机构或者人员；（四）有保证药品质量的规章制度，"
            "并符合国务院药品监督管理部门依据本法制定的药品经营质量管理规范要求。",
            "Trading in drugs requires: (i) pharmacists or other pharmaceutical technicians qualified "
            "according to law; (ii) premises, equipment, storage and hygiene suited to the drugs "
            "traded; (iii) a quality management body or staff suited to the drugs traded; (iv) rules "
            "that ensure drug quality and meet the good supply practice issued under this Law by the "
            "drug regulatory department of the State Council.",
        ),
        LICENSING_REFUSE,
        LICENSING_NOT_ACCEPTED,
    ],
    # 企业简易注销登记
    "330100-AMR-DJ-005": [
        (
            "market",
            "第三十三条第一款",
            "Article 33(1)",
            "市场主体未发生债权债务或者已将债权债务清偿完结，未发生或者已结清清偿费用、职工工资、社会保险费用、法定补偿金、"
            "应缴纳税款（滞纳金、罚款），并由全体投资人书面承诺对上述情况的真实性承担法律责任的，可以按照简易程序办理注销登记。",
            "A market entity that has incurred no debts or claims or has settled them all, has "
            "incurred or has paid all settlement costs, wages, social insurance contributions, "
            "statutory compensation and taxes due (with late fees and fines), and whose investors "
            "all promise in writing to be legally liable for the truth of this, may be deregistered "
            "by the simplified procedure.",
        ),
        (
            "company",
            "第二百四十条第一款",
            "Article 240(1)",
            "公司在存续期间未产生债务，或者已清偿全部债务的，经全体股东承诺，可以按照规定通过简易程序注销公司登记。",
            "A company that has incurred no debts while in existence, or has paid all of them, may "
            "have its registration cancelled by the simplified procedure on the promise of all its "
            "shareholders.",
        ),
        (
            "company",
            "第二百四十条第二款",
            "Article 240(2)",
            "通过简易程序注销公司登记，应当通过国家企业信用信息公示系统予以公告，公告期限不少于二十日。公告期限届满后，未有异议的，"
            "公司可以在二十日内向公司登记机关申请注销公司登记。",
            "Cancellation by the simplified procedure is announced in the National Enterprise Credit "
            "Information Publicity System for at least twenty days. If no objection is raised by the "
            "end of that period, the company may apply to the company registration authority for "
            "cancellation within twenty days.",
        ),
    ],
    # 出生登记
    "330100-PSB-QR-001": [
        (
            "household",
            "第七条第一款",
            "Article 7(1)",
            "婴儿出生后一个月以内，由户主、亲属、抚养人或者邻居向婴儿常住地户口登记机关申报出生登记。",
            "Within one month of a baby's birth, the head of the household, a relative, a carer or a "
            "neighbour declares the birth to the household registration authority where the baby "
            "permanently lives.",
        ),
        (
            "household",
            "第六条",
            "Article 6",
            "公民应当在经常居住的地方登记为常住人口，一个公民只能在一个地方登记为常住人口。",
            "Citizens are registered as permanent residents where they usually live, and a citizen "
            "may be so registered in one place only.",
        ),
        CIVIL_BIRTH_AND_DEATH,
    ],
    # 居民身份证换领
    "330100-PSB-QR-002": [
        (
            "id_card",
            "第十一条第一款",
            "Article 11(1)",
            "居民身份证有效期满、公民姓名变更或者证件严重损坏不能辨认的，公民应当换领新证；居民身份证登记项目出现错误的，公安机关"
            "应当及时更正，换发新证；领取新证时，必须交回原证。居民身份证丢失的，应当申请补领。",
            "When a resident identity card expires, the citizen's name changes or the card is too "
            "damaged to read, the citizen shall renew it; where a registered particular is wrong, the "
            "public security authority corrects it promptly and issues a new card; the old card is "
            "handed back on collecting the new one. A lost card shall be replaced on application.",
        ),
        (
            "id_card",
            "第十条",
            "Article 10",
            "申请领取居民身份证，应当填写《居民身份证申领登记表》，交验居民户口簿。",
            "To apply for a resident identity card, fill in the Resident Identity Card Application "
            "and Registration Form and present the household register.",
        ),
        (
            "id_card",
            "第八条",
            "Article 8",
            "居民身份证由居民常住户口所在地的县级人民政府公安机关签发。",
            "Resident identity cards are issued by the public security authority of the county-level "
            "people's government where the resident's permanent household is registered.",
        ),
    ],
    # 户口迁移（市内）
    "330100-PSB-QR-003": [
        (
            "household",
            "第十条第一款",
            "Article 10(1)",
            "公民迁出本户口管辖区，由本人或者户主在迁出前向户口登记机关申报迁出登记，领取迁移证件，注销户口。",
            "A citizen moving out of the area of a household registration authority, or the head of "
            "the household, declares the move to that authority before leaving, receives the "
            "migration certificate and has the registration cancelled.",
        ),
        (
            "household",
            "第十三条第一款",
            "Article 13(1)",
            "公民迁移，从到达迁入地的时候起，城市在三日以内，农村在十日以内，由本人或者户主持迁移证件向户口登记机关申报迁入登记，"
            "缴销迁移证件。",
            "From arriving at the new place, within three days in a city and ten days in the "
            "countryside, the citizen or the head of the household declares the move-in to the "
            "household registration authority with the migration certificate, which is handed in.",
        ),
    ],
    # 机动车驾驶证换证（有效期满）
    "330100-PSB-XK-001": [
        (
            "traffic",
            "第十九条第二款",
            "Article 19(2)",
            "申请机动车驾驶证，应当符合国务院公安部门规定的驾驶许可条件；经考试合格后，由公安机关交通管理部门发给相应类别的机动车驾驶证。",
            "An applicant for a motor vehicle driving licence shall meet the driving licence "
            "conditions set by the public security department of the State Council; after passing the "
            "tests, the traffic administration of the public security authority issues a driving "
            "licence of the corresponding class.",
        ),
        (
            "traffic",
            "第二十三条",
            "Article 23",
            "公安机关交通管理部门依照法律、行政法规的规定，定期对机动车驾驶证实施审验。",
            "The traffic administration of the public security authority examines motor vehicle "
            "driving licences periodically according to laws and administrative regulations.",
        ),
        LICENSING_REFUSE,
        LICENSING_NOT_ACCEPTED,
    ],
    # 死亡人员户口注销
    "330100-PSB-QR-004": [
        (
            "household",
            "第八条",
            "Article 8",
            "公民死亡，城市在葬前，农村在一个月以内，由户主、亲属、抚养人或者邻居向户口登记机关申报死亡登记，注销户口。公民如果在"
            "暂住地死亡，由暂住地户口登记机关通知常住地户口登记机关注销户口。",
            "When a citizen dies, the head of the household, a relative, a carer or a neighbour "
            "declares the death to the household registration authority, before the burial in a city "
            "and within one month in the countryside, and the registration is cancelled. Where a "
            "citizen dies at a place of temporary stay, the authority there tells the authority of "
            "the permanent residence to cancel the registration.",
        ),
        CIVIL_BIRTH_AND_DEATH,
    ],
    # 结婚登记（内地居民）
    "330100-MZ-QR-001": [
        (
            "civil",
            "第一千零四十九条",
            "Article 1049",
            "要求结婚的男女双方应当亲自到婚姻登记机关申请结婚登记。符合本法规定的，予以登记，发给结婚证。完成结婚登记，即确立婚姻关系。"
            "未办理结婚登记的，应当补办登记。",
            "A man and a woman who wish to marry apply in person to the marriage registration "
            "authority. Where the requirements of this Code are met, the marriage is registered and a "
            "marriage certificate issued; registration establishes the marriage. A marriage not "
            "registered shall be registered afterwards.",
        ),
        (
            "civil",
            "第一千零四十六条",
            "Article 1046",
            "结婚应当男女双方完全自愿，禁止任何一方对另一方加以强迫，禁止任何组织或者个人加以干涉。",
            "Marriage requires the complete free will of both the man and the woman; neither may "
            "force the other, and no organisation or individual may interfere.",
        ),
        (
            "civil",
            "第一千零四十七条",
            "Article 1047",
            "结婚年龄，男不得早于二十二周岁，女不得早于二十周岁。",
            "The age of marriage is no earlier than 22 for a man and 20 for a woman.",
        ),
        (
            "civil",
            "第一千零四十八条",
            "Article 1048",
            "直系血亲或者三代以内的旁系血亲禁止结婚。",
            "Marriage between lineal relatives by blood, or collateral relatives by blood up to the "
            "third degree, is prohibited.",
        ),
    ],
    # 老年人优待证办理
    "330100-MZ-GG-001": [
        (
            "elderly",
            "第二条",
            "Article 2",
            "本法所称老年人是指六十周岁以上的公民。",
            "In this Law, the elderly are citizens aged sixty and over.",
        ),
        (
            "elderly",
            "第五十八条",
            "Article 58",
            "提倡与老年人日常生活密切相关的服务行业为老年人提供优先、优惠服务。城市公共交通、公路、铁路、水路和航空客运，应当为老年人"
            "提供优待和照顾。",
            "Services closely tied to the daily life of the elderly are encouraged to serve them "
            "first and at a discount. Urban public transport and passenger transport by road, rail, "
            "water and air shall give the elderly preferential treatment and care.",
        ),
        (
            "elderly",
            "第五十九条",
            "Article 59",
            "博物馆、美术馆、科技馆、纪念馆、公共图书馆、文化馆、影剧院、体育场馆、公园、旅游景点等场所，应当对老年人免费或者优惠开放。",
            "Museums, art galleries, science centres, memorial halls, public libraries, cultural "
            "centres, cinemas and theatres, sports venues, parks, tourist sites and the like shall be "
            "open to the elderly free of charge or at a discount.",
        ),
    ],
    # 社会保障卡申领
    "330100-RS-GG-001": [
        (
            "insurance",
            "第五十八条第三款",
            "Article 58(3)",
            "国家建立全国统一的个人社会保障号码。个人社会保障号码为公民身份号码。",
            "The State establishes a nationally uniform personal social security number. The "
            "personal social security number is the citizen's identity number.",
        ),
        (
            "insurance",
            "第五十八条第二款",
            "Article 58(2)",
            "自愿参加社会保险的无雇工的个体工商户、未在用人单位参加社会保险的非全日制从业人员以及其他灵活就业人员，应当向社会保险经办"
            "机构申请办理社会保险登记。",
            "Individual businesses without employees, part-time workers not insured through an "
            "employer and other people in flexible employment who join social insurance voluntarily "
            "apply to the social insurance agency for social insurance registration.",
        ),
    ],
    # 失业保险金申领
    "330100-RS-GF-001": [
        (
            "insurance",
            "第四十五条",
            "Article 45",
            "失业人员符合下列条件的，从失业保险基金中领取失业保险金：（一）失业前用人单位和本人已经缴纳失业保险费满一年的；"
            "（二）非因本人意愿中断就业的；（三）已经进行失业登记，并有求职要求的。",
            "Unemployed people receive unemployment insurance benefit from the unemployment "
            "insurance fund when: (i) they and their employer paid unemployment insurance "
            "contributions for at least one year before they lost their job; (ii) their employment "
            "ended against their will; (iii) they have registered as unemployed and are seeking work.",
        ),
        (
            "insurance",
            "第五十条第三款",
            "Article 50(3)",
            "失业人员凭失业登记证明和个人身份证明，到社会保险经办机构办理领取失业保险金的手续。失业保险金领取期限自办理失业登记之日起计算。",
            "Unemployed people claim the benefit at the social insurance agency with proof of "
            "unemployment registration and of identity. The benefit period runs from the day of "
            "unemployment registration.",
        ),
        (
            "insurance",
            "第五十一条",
            "Article 51",
            "失业人员在领取失业保险金期间有下列情形之一的，停止领取失业保险金，并同时停止享受其他失业保险待遇：（一）重新就业的；"
            "（二）应征服兵役的；（三）移居境外的；（四）享受基本养老保险待遇的；（五）无正当理由，拒不接受当地人民政府指定部门或者"
            "机构介绍的适当工作或者提供的培训的。",
            "The benefit and all other unemployment insurance benefits stop when, during the benefit "
            "period, the person: (i) finds work again; (ii) is enlisted for military service; (iii) "
            "settles abroad; (iv) receives a basic pension; (v) without good reason refuses suitable "
            "work or training offered by the department or body the local government names.",
        ),
    ],
    # 企业职工丧葬补助金、抚恤金申领
    "330100-RS-GF-002": [
        (
            "insurance",
            "第十七条",
            "Article 17",
            "参加基本养老保险的个人，因病或者非因工死亡的，其遗属可以领取丧葬补助金和抚恤金；在未达到法定退休年龄时因病或者非因工致残"
            "完全丧失劳动能力的，可以领取病残津贴。所需资金从基本养老保险基金中支付。",
            "When a person insured under the basic pension insurance dies of illness or of causes not "
            "related to work, their survivors may receive a funeral grant and a survivors' benefit; "
            "one who becomes wholly unable to work through illness or a disability not related to "
            "work before the statutory retirement age may receive a disability allowance. The funds "
            "come from the basic pension insurance fund.",
        ),
        (
            "insurance",
            "第四十九条第二款",
            "Article 49(2)",
            "个人死亡同时符合领取基本养老保险丧葬补助金、工伤保险丧葬补助金和失业保险丧葬补助金条件的，其遗属只能选择领取其中的一项。",
            "Where a deceased person qualifies for funeral grants from the basic pension insurance, "
            "the work injury insurance and the unemployment insurance at once, the survivors may "
            "choose only one of them.",
        ),
    ],
    # 城乡居民基本医疗保险参保登记
    "330100-YB-DJ-001": [
        (
            "insurance",
            "第二十五条第二款",
            "Article 25(2)",
            "城镇居民基本医疗保险实行个人缴费和政府补贴相结合。",
            "Urban residents' basic medical insurance combines individual contributions with "
            "government subsidies.",
        ),
        (
            "insurance",
            "第二十五条第三款",
            "Article 25(3)",
            "享受最低生活保障的人、丧失劳动能力的残疾人、低收入家庭六十周岁以上的老年人和未成年人等所需个人缴费部分，由政府给予补贴。",
            "The government pays the individual contributions of people receiving the minimum "
            "living allowance, people with disabilities unable to work, and people aged sixty and "
            "over and minors in low-income families.",
        ),
    ],
    # 生育医疗费用报销
    "330100-YB-GF-001": [
        (
            "insurance",
            "第五十四条第一款",
            "Article 54(1)",
            "用人单位已经缴纳生育保险费的，其职工享受生育保险待遇；职工未就业配偶按照国家规定享受生育医疗费用待遇。所需资金从生育保险"
            "基金中支付。",
            "Employees whose employer has paid maternity insurance contributions receive maternity "
            "insurance benefits; an employee's spouse without a job receives maternity medical cost "
            "benefits as the State provides. The funds come from the maternity insurance fund.",
        ),
        (
            "insurance",
            "第五十五条",
            "Article 55",
            "生育医疗费用包括下列各项：（一）生育的医疗费用；（二）计划生育的医疗费用；（三）法律、法规规定的其他项目费用。",
            "Maternity medical costs comprise: (i) medical costs of childbirth; (ii) medical costs of "
            "family planning; (iii) other costs that laws and regulations provide for.",
        ),
        (
            "insurance",
            "第五十三条",
            "Article 53",
            "职工应当参加生育保险，由用人单位按照国家规定缴纳生育保险费，职工不缴纳生育保险费。",
            "Employees take part in maternity insurance; the employer pays the contributions as the "
            "State provides, and employees pay none.",
        ),
    ],
    # 住房公积金提取（购买自住住房）
    "330100-GJJ-GG-001": [
        (
            "provident",
            "第二十四条第一款",
            "Article 24(1)",
            "职工有下列情形之一的，可以提取职工住房公积金账户内的存储余额：（一）购买、建造、翻建、大修自住住房的；（二）离休、退休的；"
            "（三）完全丧失劳动能力，并与单位终止劳动关系的；（四）出境定居的；（五）偿还购房贷款本息的；（六）房租超出家庭工资收入的"
            "规定比例的。",
            "Employees may withdraw the balance of their housing provident fund account when they: "
            "(i) buy, build, rebuild or substantially repair a home to live in; (ii) retire; (iii) "
            "become wholly unable to work and leave their employer; (iv) settle abroad; (v) repay the "
            "principal and interest of a home loan; (vi) pay rent above the set share of the "
            "household's wage income.",
        ),
        (
            "provident",
            "第二十五条",
            "Article 25",
            "职工提取住房公积金账户内的存储余额的，所在单位应当予以核实，并出具提取证明。职工应当持提取证明向住房公积金管理中心申请提取"
            "住房公积金。住房公积金管理中心应当自受理申请之日起3日内作出准予提取或者不准提取的决定，并通知申请人；准予提取的，由受委托"
            "银行办理支付手续。",
            "When an employee withdraws the balance of the account, the employer verifies it and "
            "issues a withdrawal certificate, with which the employee applies to the housing provident "
            "fund centre. Within 3 days of accepting the application the centre decides whether the "
            "withdrawal is allowed and tells the applicant; an allowed withdrawal is paid by the "
            "commissioned bank.",
        ),
    ],
    # 残疾人证办理（新办）
    "330100-CL-QR-001": [
        (
            "disability",
            "第二条第一款",
            "Article 2(1)",
            "残疾人是指在心理、生理、人体结构上，某种组织、功能丧失或者不正常，全部或者部分丧失以正常方式从事某种活动能力的人。",
            "Persons with disabilities are those who have lost, or have an abnormality of, a "
            "psychological or physiological function or of an anatomical structure, and have wholly "
            "or partly lost the ability to carry out an activity in the normal way.",
        ),
        (
            "disability",
            "第二条第二款",
            "Article 2(2)",
            "残疾人包括视力残疾、听力残疾、言语残疾、肢体残疾、智力残疾、精神残疾、多重残疾和其他残疾的人。",
            "Persons with disabilities include those with visual, hearing, speech, physical, "
            "intellectual, mental, multiple and other disabilities.",
        ),
    ],
    # 建设工程规划许可
    "330100-ZR-XK-001": [
        (
            "planning",
            "第四十条第一款",
            "Article 40(1)",
            "在城市、镇规划区内进行建筑物、构筑物、道路、管线和其他工程建设的，建设单位或者个人应当向城市、县人民政府城乡规划主管部门"
            "或者省、自治区、直辖市人民政府确定的镇人民政府申请办理建设工程规划许可证。",
            "Whoever builds structures, roads, pipelines or other works in a city or town planning "
            "area applies for a construction project planning permit to the planning department of "
            "the city or county government, or to the town government the province designates.",
        ),
        (
            "planning",
            "第四十条第二款",
            "Article 40(2)",
            "申请办理建设工程规划许可证，应当提交使用土地的有关证明文件、建设工程设计方案等材料。需要建设单位编制修建性详细规划的建设"
            "项目，还应当提交修建性详细规划。对符合控制性详细规划和规划条件的，由城市、县人民政府城乡规划主管部门或者省、自治区、直辖市"
            "人民政府确定的镇人民政府核发建设工程规划许可证。",
            "The application includes proof of the right to use the land and the design of the "
            "project, and, where the builder must prepare one, the detailed construction plan. Where "
            "the project conforms to the regulatory detailed plan and the planning conditions, the "
            "planning department of the city or county government, or the designated town "
            "government, issues the construction project planning permit.",
        ),
        LICENSING_REFUSE,
        LICENSING_NOT_ACCEPTED,
    ],
    # 不动产转移登记（二手房买卖）
    "330100-ZR-DJ-001": [
        (
            "civil",
            "第二百零九条第一款",
            "Article 209(1)",
            "不动产物权的设立、变更、转让和消灭，经依法登记，发生效力；未经登记，不发生效力，但是法律另有规定的除外。",
            "The creation, change, transfer and extinction of real rights in immovables take effect "
            "on registration according to law, and not without it, unless the law provides "
            "otherwise.",
        ),
        (
            "civil",
            "第二百一十四条",
            "Article 214",
            "不动产物权的设立、变更、转让和消灭，依照法律规定应当登记的，自记载于不动产登记簿时发生效力。",
            "Where the creation, change, transfer or extinction of a real right in an immovable must "
            "be registered by law, it takes effect when it is entered in the real estate register.",
        ),
        (
            "real_estate",
            "第十四条第一款",
            "Article 14(1)",
            "因买卖、设定抵押权等申请不动产登记的，应当由当事人双方共同申请。",
            "Registration arising from a sale, the creation of a mortgage and the like is applied "
            "for jointly by both parties.",
        ),
        (
            "real_estate",
            "第二十二条",
            "Article 22",
            "登记申请有下列情形之一的，不动产登记机构应当不予登记，并书面告知申请人：（一）违反法律、行政法规规定的；（二）存在尚未解决的"
            "权属争议的；（三）申请登记的不动产权利超过规定期限的；（四）法律、行政法规规定不予登记的其他情形。",
            "The real estate registration agency refuses to register, and tells the applicant in "
            "writing, where: (i) the application violates laws or administrative regulations; (ii) "
            "there is an unresolved dispute over ownership; (iii) the right applied for has exceeded "
            "its prescribed term; (iv) laws or administrative regulations otherwise exclude "
            "registration.",
        ),
    ],
    # 居住证办理
    "330108-HQ-GG-001": [
        (
            "residence",
            "第二条",
            "Article 2",
            "公民离开常住户口所在地，到其他城市居住半年以上，符合有合法稳定就业、合法稳定住所、连续就读条件之一的，可以依照本条例的规定"
            "申领居住证。",
            "Citizens who have left the place of their permanent household registration and have "
            "lived in another city for more than six months, and who have a lawful stable job, a "
            "lawful stable home or are continuously studying, may apply for a residence permit under "
            "these Regulations.",
        ),
        (
            "residence",
            "第九条第一款",
            "Article 9(1)",
            "申领居住证，应当向居住地公安派出所或者受公安机关委托的社区服务机构提交本人居民身份证、本人相片以及居住地住址、就业、就读"
            "等证明材料。",
            "To apply for a residence permit, hand the resident identity card, a photo and proof of "
            "the address, job or studies to the local police station or the community service "
            "organisation the public security authority commissions.",
        ),
    ],
    # 高龄津贴申领
    "330108-WH-GF-001": [
        (
            "elderly",
            "第三十三条第二款",
            "Article 33(2)",
            "国家鼓励地方建立八十周岁以上低收入老年人高龄津贴制度。",
            "The State encourages localities to establish an old-age allowance for low-income elderly "
            "people aged eighty and over.",
        ),
        (
            "elderly",
            "第二条",
            "Article 2",
            "本法所称老年人是指六十周岁以上的公民。",
            "In this Law, the elderly are citizens aged sixty and over.",
        ),
    ],
    # 城乡居民基本养老保险参保登记
    "330110-SL-DJ-001": [
        (
            "insurance",
            "第二十条第二款",
            "Article 20(2)",
            "新型农村社会养老保险实行个人缴费、集体补助和政府补贴相结合。",
            "The new rural social pension insurance combines individual contributions, collective "
            "subsidies and government subsidies.",
        ),
        (
            "insurance",
            "第二十二条第二款",
            "Article 22(2)",
            "省、自治区、直辖市人民政府根据实际情况，可以将城镇居民社会养老保险和新型农村社会养老保险合并实施。",
            "Provincial governments may, as circumstances require, merge the urban residents' social "
            "pension insurance with the new rural social pension insurance.",
        ),
    ],
}

# 新生儿社会保障卡申领 is decided under the same articles as 社会保障卡申领.
ARTICLES["330100-RS-GG-002"] = ARTICLES["330100-RS-GG-001"]
# A summary of the decision's annex (公章刻制审批 cancelled, filed with the police instead), not a
# quotation: to be checked against the published text before it is shown as one.
ARTICLES["330100-PSB-BA-001"] = [
    (
        "seal",
        "附件（公章刻制审批）",
        "Annex (approval of seal making)",
        "取消公章刻制审批，改由公安机关实行公章刻制备案管理（摘要）。",
        "The approval of seal making is cancelled; the police keep a record of seals made "
        "instead (summary).",
    ),
    (
        "seal",
        "附件（后续监管措施）",
        "Annex (supervision afterwards)",
        "取消审批后，公安机关对公章刻制实行备案管理，加强事中事后监管（摘要）。",
        "After the approval is cancelled, the police keep a record of seals made and supervise "
        "the trade during and after the fact (summary).",
    ),
]


def load_articles() -> int:
    """Give each demo service that has none its articles; return how many were added."""
    added = 0
    services = ServiceItem.objects.filter(code__in=ARTICLES).exclude(articles__isnull=False)
    for service in services:
        rows = []
        for law, article, article_en, text, text_en in ARTICLES[service.code]:
            name, name_en = LAWS[law]
            rows.append(
                {"law": name, "law_en": name_en, "article": article, "article_en": article_en,
                 "text": text, "text_en": text_en}
            )  # fmt: skip
        added += len(add_articles(service=service, rows=rows))
    return added
